"""Building blocks of the TSJNet fusion networks (ResNeSt, NAT-mini, DSM, spatial attention)."""
