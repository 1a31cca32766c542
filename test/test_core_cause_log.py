from tsjnet_ros.core.runtime.cause_log import CauseLog


def test_each_cause_is_logged_once_per_period_independently():
    log = CauseLog(period=5.0)
    assert log.due(('ir', 'encoding yuv422'), 0.0)
    assert log.due(('ir', 'step'), 0.1)  # a second cause right after the first still shows
    assert not log.due(('ir', 'encoding yuv422'), 1.0)
    assert log.due(('ir', 'encoding yuv422'), 5.5)
    assert log.count(('ir', 'encoding yuv422')) == 3 and log.count('never') == 0
