"""Offline evaluation of a bag: every synchronised pair through the pipeline, no drops.

Pairs are formed, prepared and fused by the fusion stream the live node runs
(:class:`~tsjnet_ros.core.runtime.fusion_stream.FusionStream`, here synchronous: every
pair is fused, none skipped; pairing from the bag in :mod:`pairing`). Each pair gets the
fusion metrics of ``tsjnet-eval`` (same inputs: 8-bit IR, visible luma, fused luminance);
detections and
segmentation are scored against the bag's ground truth where it has some. Results go to
an output bag (the node's output topics, stamped with the input stamps) and to a report
folder. Whatever happens, the output bag is closed and the report is written for the
pairs done so far.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tsjnet_ros.core.bag.messages import detections_message
from tsjnet_ros.core.bag.pairing import BagPair, PairAccount, PairStream
from tsjnet_ros.core.bag.problems import BagError, BagProblem
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.topics import (
    CLASS_NAMES_KEY,
    GROUND_TRUTH_KEY,
    PAIR_NAMES_KEY,
    SEGMENTATION_CLASSES_KEY,
    STILLS_KEY,
    InputTopics,
    OutputTopics,
)
from tsjnet_ros.core.bag.typestore import DETECTIONS, IMAGE
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.fusion.backend import FusionBackend
from tsjnet_ros.core.image.image_encoding import swap_red_blue
from tsjnet_ros.core.metrics.detection import ImageAnnotations
from tsjnet_ros.core.metrics.evaluator import PairEvaluator, luminance_inputs
from tsjnet_ros.core.metrics.fusion_suite import FUSION_METRICS, evaluate_fusion
from tsjnet_ros.core.metrics.image_input import ir_to_uint8
from tsjnet_ros.core.metrics.predictions import predictions_by_class_name, predictions_by_id
from tsjnet_ros.core.runtime.fusion_stream import FusionStream, silent
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.core.types.box_set import BoxSet
from tsjnet_ros.core.types.fusion_result import FusionResult
from tsjnet_ros.core.viz.overlay import draw_overlay, draw_overlay_at_width

SEGMENTATION_IGNORE = 255


@dataclass(frozen=True)
class EvaluationOptions:
    """``metrics``: fusion metric names (None = all, empty = none)."""

    metrics: tuple[str, ...] | None = None
    convention: str = 'default'
    overlay_alpha: float = 0.4
    contact_sheet_rows: int = 6
    tile_width: int = 480
    output_storage: str = 'mcap'
    output_color: bool = False  # also write fused/image_color (the overlay already shows it)
    class_names: tuple[str, ...] | None = (
        None  # ground-truth detection classes (else from the bag)
    )
    overwrite: bool = False
    baselines: tuple[str, ...] = ()  # classical backends fused on some pairs for comparison
    baseline_pairs: int = 10  # that many pairs, spread over the bag

    def metric_names(self) -> list[str]:
        names = list(FUSION_METRICS) if self.metrics is None else list(self.metrics)
        unknown = [m for m in names if m not in FUSION_METRICS]
        if unknown:
            raise ValueError(f'unknown metrics {unknown}; known: {", ".join(FUSION_METRICS)}')
        return names


@dataclass
class PairRecord:
    """What one pair produced: stamps, timings (ms), metric values and counts.

    ``name``: the input pair's name for a bag made from a folder of pairs (e.g. ``00036N``),
    else the visible stamp relative to the first pair (``t+0.533s``).
    """

    number: int
    name: str
    stamp_ns: int
    ir_stamp_ns: int
    log_time_ns: int
    timings: dict[str, float]
    metrics: dict[str, float]
    detections: int
    gt_boxes: int | None

    def as_dict(self) -> dict:
        return {
            'pair': self.number,
            'name': self.name,
            'stamp_ns': self.stamp_ns,
            'ir_stamp_ns': self.ir_stamp_ns,
            'pair_offset_ms': (self.ir_stamp_ns - self.stamp_ns) / 1e6,
            'log_time_ns': self.log_time_ns,
            'timings_ms': self.timings,
            'metrics': self.metrics,
            'detections': self.detections,
            'gt_boxes': self.gt_boxes,
        }


@dataclass
class EvaluationResult:
    bag: Path
    backend: str
    settings: StreamSettings
    account: PairAccount
    records: list[PairRecord]
    detection: dict | None
    segmentation: dict | None
    problems: list[BagProblem]
    output_bag: Path | None
    output_counts: dict[str, int]
    wall_s: float
    status: str  # "complete", "interrupted" or "failed: ..."
    contact_rows: list[tuple[str, list[np.ndarray]]] = field(default_factory=list, repr=False)
    baseline_records: list[dict] = field(
        default_factory=list
    )  # {"method", "pair", "name", **metrics}
    stills: bool = (
        False  # the bag shows still pairs (made from a folder): pairs have names, not a time axis
    )
    ground_truth_source: str | None = None  # what the bag says its ground truth came from

    @property
    def expected_pairs(self) -> int:
        return self.account.pairs

    @property
    def processed_pairs(self) -> int:
        return len(self.records)


class _Scoring:
    """The bag's ground truth against the backend's predictions, via one :class:`PairEvaluator`.

    Maps the backend's classes onto the bag's class tables by name (by id when the bag has
    no detection class table) and the ground truth to the fused image's pixels.
    """

    def __init__(
        self,
        backend: FusionBackend,
        account: PairAccount,
        bag_custom: dict[str, str],
        class_names: Sequence[str] | None,
        metric_names: Sequence[str] = (),
        convention: str = 'default',
    ) -> None:
        self.det_classes = (
            list(class_names) if class_names else _json_list(bag_custom.get(CLASS_NAMES_KEY))
        )
        self.backend_det = list(getattr(backend, 'detection_classes', []) or [])
        self.score_detections = account.has_gt_detections and bool(self.backend_det)
        gt_seg_names = _json_list(bag_custom.get(SEGMENTATION_CLASSES_KEY))
        backend_seg = list(getattr(backend, 'segmentation_classes', []) or [])
        self.seg_names = gt_seg_names or backend_seg
        self.score_segmentation = bool(
            account.has_gt_segmentation and backend_seg and self.seg_names
        )
        self.evaluator = PairEvaluator(
            metric_names,
            convention,
            self.seg_names if self.score_segmentation else (),
            ignore_index=SEGMENTATION_IGNORE,
        )
        self._seg_lookup: np.ndarray | None = None
        if self.score_segmentation:
            lookup = {n.lower(): i for i, n in enumerate(self.seg_names)}
            table = np.zeros(
                256, np.uint8
            )  # classes the ground truth does not label count as class 0
            for i, name in enumerate(backend_seg[:256]):
                table[i] = lookup.get(name.lower(), 0)
            self._seg_lookup = table

    def fusion(self, ir: np.ndarray, visible: np.ndarray, fused: np.ndarray) -> dict[str, float]:
        """Return the fusion metrics of one prepared pair (the inputs of ``tsjnet-eval``).

        {} when none are asked for.
        """
        if not self.evaluator.metric_names:
            return {}
        return self.evaluator.add_fusion(*luminance_inputs(ir, visible), fused)

    def add(
        self,
        result: FusionResult,
        gt_boxes: BoxSet | None,
        gt_seg: np.ndarray | None,
        scale: tuple[float, float],
    ) -> None:
        if self.score_detections and gt_boxes is not None:
            boxes = gt_boxes.boxes * np.array([scale[0], scale[1], scale[0], scale[1]])
            if self.det_classes:
                predictions = predictions_by_class_name(result.detections, self.det_classes)
            else:  # no class table in the bag: ids are compared directly
                predictions = predictions_by_id(result.detections)
            self.evaluator.add_detections(predictions, ImageAnnotations(boxes, gt_boxes.class_ids))
        if self.score_segmentation and gt_seg is not None and result.segmentation is not None:
            target = gt_seg
            if target.shape != result.segmentation.shape:
                h, w = result.segmentation.shape
                target = cv2.resize(target, (w, h), interpolation=cv2.INTER_NEAREST)
            self.evaluator.add_segmentation(self._seg_lookup[result.segmentation], target)

    def detection_report(self) -> dict | None:
        names = list(self.det_classes or self.backend_det)
        names += [str(i) for i in range(len(names), self.evaluator.highest_class_id() + 1)]
        report = self.evaluator.detection_report(names)
        return None if report is None else report.as_dict()

    def segmentation_report(self) -> dict | None:
        if not self.evaluator.segmentation.confusion.any():
            return None
        return self.evaluator.segmentation_report()


def _json_list(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


class _OutputBag:
    """The evaluated bag: the node's output topics, stamped like the input pair.

    A background thread owns the bag (sqlite3 connections must stay on one thread): it
    creates it with the first pair, encodes and writes each pair while the next one is
    fused, and closes it. Failures surface on the next call from the producer.
    """

    def __init__(
        self,
        path: Path,
        storage: str,
        overwrite: bool,
        topics: OutputTopics,
        color: bool,
        class_id_format: str = 'id',
    ) -> None:
        self.path, self.storage, self.overwrite, self.topics, self.color = (
            path,
            storage,
            overwrite,
            topics,
            color,
        )
        # hypothesis.class_id: numeric id or class name, as the node's parameter
        self.class_id_format = class_id_format
        self.writer: BagWriter | None = None
        self.counts: dict[str, int] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._opened = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            self.writer = BagWriter(self.path, self.storage, overwrite=self.overwrite).open()
            t = self.topics
            for topic in (t.fused, t.overlay) + ((t.fused_color,) if self.color else ()):
                self.writer.add_topic(topic, IMAGE)
            self.writer.add_topic(t.detections, DETECTIONS)
        except BaseException as exc:  # reported to the producer
            self._error = exc
        self._opened.set()
        while (job := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(*job)
                except BaseException as exc:  # reported to the producer on its next call
                    self._error = exc
        if self.writer is not None:
            try:
                self.writer.close()
            except BaseException as exc:
                self._error = self._error or exc
            self.counts = dict(self.writer.counts)

    def _check(self) -> None:
        if self._error is not None:
            raise RuntimeError(
                f'writing the output bag {self.path} failed: {self._error}'
            ) from self._error

    def write(self, pair: BagPair, result: FusionResult, overlay: np.ndarray) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name='output_bag_writer', daemon=True
            )
            self._thread.start()
            self._opened.wait()
        self._check()
        self._queue.put((pair, result, overlay))

    def _write(self, pair: BagPair, result: FusionResult, overlay: np.ndarray) -> None:
        t, w = self.topics, self.writer
        stamp, frame_id = pair.visible.stamp_ns, pair.visible.frame_id
        log_time = max(pair.ir.log_time_ns, pair.visible.log_time_ns)
        w.write_image(t.fused, log_time, result.fused, 'mono8', stamp, frame_id)
        if self.color:
            w.write_image(
                t.fused_color, log_time, swap_red_blue(result.fused_color), 'bgr8', stamp, frame_id
            )
        w.write(
            t.detections,
            log_time,
            detections_message(result.detections, stamp, frame_id, self.class_id_format),
        )
        if result.segmentation is not None:
            w.add_topic(t.segmentation, IMAGE)
            w.write_image(t.segmentation, log_time, result.segmentation, 'mono8', stamp, frame_id)
        w.write_image(t.overlay, log_time, overlay, 'rgb8', stamp, frame_id)

    def close(self) -> dict[str, int]:
        """Finish pending writes and close the bag (also after errors), returning counts."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        self._check()
        return self.counts


def _contact_indices(total: int, rows: int) -> set[int]:
    """Pair numbers spread over ``total`` pairs; the first ones when the total is unknown."""
    if rows <= 0:
        return set()
    if total <= 0:
        return set(range(rows))
    return {int(round(x)) for x in np.linspace(0, total - 1, min(rows, total))}


def evaluate_bag(
    bag: str | Path,
    backend: FusionBackend,
    settings: StreamSettings,
    output_bag: str | Path | None,
    topics: InputTopics = InputTopics(),
    options: EvaluationOptions = EvaluationOptions(),
    output_topics: OutputTopics = OutputTopics(),
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Run the pipeline on every pair of ``bag`` (see module docstring).

    Raises :class:`BagError` before any work when the bag cannot be paired (missing or
    mistyped camera topic, no pair within the slop). Later problems are recorded in the
    result and processing goes on.
    """
    metric_names = options.metric_names()
    start = time.perf_counter()
    with BagReader(bag) as reader:
        has_segmentation = bool(getattr(backend, 'segmentation_classes', None))
        fusion = FusionStream(synchronous=True, report=silent)  # problems are collected below
        fusion.configure(
            settings, backend
        )  # a fresh preparation per bag: its automatic gain follows the frames
        stream = PairStream(
            reader, topics, settings, segmentation=has_segmentation, prefetch=8, fusion=fusion
        )
        scoring = _Scoring(
            backend,
            stream.account,
            reader.custom_data,
            options.class_names,
            metric_names,
            options.convention,
        )
        naming = _PairNames(reader.custom_data)
        baselines = {
            name: create_backend(name, ir_range=settings.ir_range)
            for name in options.baselines
            if name != getattr(backend, 'name', None)
        }
        baseline_at = _contact_indices(
            stream.estimated_pairs(), options.baseline_pairs if baselines else 0
        )
        baseline_records: list[dict] = []
        problems: list[BagProblem] = []
        records: list[PairRecord] = []
        sheet_rows: list[tuple[str, list[np.ndarray]]] = []
        sheet_at = _contact_indices(stream.estimated_pairs(), options.contact_sheet_rows)
        out = (
            _OutputBag(
                Path(output_bag),
                options.output_storage,
                options.overwrite,
                output_topics,
                options.output_color,
                settings.class_id_format,
            )
            if output_bag
            else None
        )
        status = 'complete'
        try:
            for pair in stream:
                done = _process_pair(
                    pair,
                    naming.name(pair.visible.stamp_ns),
                    fusion,
                    metric_names,
                    options,
                    scoring,
                    out,
                    sheet_at,
                    sheet_rows,
                    problems,
                )
                if done is not None:
                    record, prepared = done
                    records.append(record)
                    if pair.number in baseline_at:
                        baseline_records += _baseline_records(
                            prepared, record, baselines, metric_names, options
                        )
                if progress is not None:
                    progress(pair.number + 1, max(stream.estimated_pairs(), pair.number + 1))
        except BagError as exc:
            if stream.account.pairs == 0:
                raise  # nothing could be paired: a usage error, not a partial result
            status = f'failed: {exc}'
        except KeyboardInterrupt:
            status = 'interrupted'
        except Exception as exc:  # keep what was done; the caller sees the failure in the status
            status = f'failed: {type(exc).__name__}: {exc}'
        finally:
            try:
                output_counts = out.close() if out is not None else {}
            except RuntimeError as exc:
                output_counts = out.counts
                problems.append(BagProblem('output_failed', str(exc)))
                status = status if status != 'complete' else 'failed: output bag'
        problems[:0] = stream.account.problems
        problems.extend(p for p in reader.problems if p not in problems)
    if status == 'complete' and len(records) < stream.account.pairs:
        problems.append(
            BagProblem(
                'incomplete',
                f'{stream.account.pairs - len(records)} of {stream.account.pairs} '
                'pairs produced no result',
            )
        )
    return EvaluationResult(
        bag=Path(bag),
        backend=getattr(backend, 'name', type(backend).__name__),
        settings=settings,
        account=stream.account,
        records=records,
        detection=scoring.detection_report(),
        segmentation=scoring.segmentation_report(),
        problems=problems,
        output_bag=Path(output_bag) if output_bag and output_counts else None,
        output_counts=output_counts,
        wall_s=time.perf_counter() - start,
        status=status,
        contact_rows=sheet_rows,
        baseline_records=baseline_records,
        stills=naming.stills,
        ground_truth_source=naming.ground_truth,
    )


class _PairNames:
    """Names pairs by the input pair names a bag from a folder records, else by time."""

    def __init__(self, custom: dict[str, str]) -> None:
        self.stills = custom.get(STILLS_KEY) == 'true'
        self.ground_truth = custom.get(GROUND_TRUTH_KEY)
        try:
            names = json.loads(custom.get(PAIR_NAMES_KEY) or '{}')
        except json.JSONDecodeError:
            names = {}
        self._names = {int(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}
        self._first: int | None = None

    def name(self, stamp_ns: int) -> str:
        if self._first is None:
            self._first = stamp_ns
        return self._names.get(stamp_ns) or f't+{(stamp_ns - self._first) / 1e9:.3f}s'


def _baseline_records(
    prepared: tuple[np.ndarray, np.ndarray],
    record: PairRecord,
    baselines: dict[str, FusionBackend],
    metric_names: list[str],
    options: EvaluationOptions,
) -> list[dict]:
    """Fusion metrics of each baseline on this pair, as prepared for the evaluated backend."""
    if not metric_names or not baselines:
        return []
    ir, vis = prepared
    ir8, vis_luma = luminance_inputs(ir, vis)
    rows = []
    for name, baseline in baselines.items():
        fused = baseline.fuse(ir, vis).fused
        scores = evaluate_fusion(ir8, vis_luma, fused, metric_names, options.convention)
        rows.append({'method': name, 'pair': record.number, 'name': record.name, **scores})
    return rows


def _process_pair(
    pair: BagPair,
    name: str,
    fusion: FusionStream,
    metric_names: list[str],
    options: EvaluationOptions,
    scoring: _Scoring,
    out: _OutputBag | None,
    sheet_at: set[int],
    sheet_rows: list,
    problems: list[BagProblem],
) -> tuple[PairRecord, tuple[np.ndarray, np.ndarray]] | None:
    """Return the pair's record and its prepared (ir, visible); None when it could not be fused."""
    t0 = time.perf_counter()
    try:
        fused = fusion.process((pair.ir, pair.visible))
    except Exception as exc:  # one bad pair must not stop the evaluation
        problems.append(
            BagProblem(
                'fusion_failed',
                f'pair {pair.number}: {type(exc).__name__}: {exc}',
                log_time_ns=pair.visible.log_time_ns,
            )
        )
        return None
    t2 = time.perf_counter()
    (ir, vis), result = fused.prepared, fused.result
    scores = scoring.fusion(ir, vis, result.fused)
    h, w = result.fused.shape[:2]
    vh, vw = pair.visible.array.shape[:2]
    scoring.add(result, pair.gt_boxes, pair.gt_segmentation, (w / vw, h / vh))
    t3 = time.perf_counter()
    if result.detections or result.segmentation is not None:
        overlay = draw_overlay(
            result.fused_color, result.detections, result.segmentation, options.overlay_alpha
        )
    else:  # nothing to draw: the overlay is the fused colour image itself
        overlay = result.fused_color
    if out is not None:
        out.write(pair, result, overlay)
    t4 = time.perf_counter()
    if pair.number in sheet_at:  # boxes and labels drawn at tile size, so they stay readable
        width = options.tile_width
        shown = draw_overlay_at_width(
            result.fused_color,
            result.detections,
            result.segmentation,
            width,
            options.overlay_alpha,
        )
        truth = shown
        if pair.gt_boxes is not None:
            names = scoring.det_classes or scoring.backend_det
            scale_boxes = BoxSet(
                pair.gt_boxes.boxes * np.array([w / vw, h / vh, w / vw, h / vh]),
                pair.gt_boxes.class_ids,
            )
            truth = draw_overlay_at_width(
                result.fused_color, scale_boxes.as_detections(names), None, width
            )
        sheet_rows.append((name, [ir_to_uint8(ir), vis, result.fused_color, shown, truth]))
    timings = {
        'prepare': fused.timings['prepare'],
        'fuse': fused.timings['fuse'],
        'metrics': (t3 - t2) * 1000.0,
        'output': (t4 - t3) * 1000.0,
        'total': (t4 - t0) * 1000.0,
    }
    record = PairRecord(
        number=pair.number,
        name=name,
        stamp_ns=pair.visible.stamp_ns,
        ir_stamp_ns=pair.ir.stamp_ns,
        log_time_ns=max(pair.ir.log_time_ns, pair.visible.log_time_ns),
        timings=timings,
        metrics=scores,
        detections=len(result.detections),
        gt_boxes=None if pair.gt_boxes is None else len(pair.gt_boxes.boxes),
    )
    return record, (ir, vis)
