"""S3's request rates per prefix, as the lab plays them: past them S3 answers 503 SlowDown.

"Your application can achieve at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD requests per
second per partitioned Amazon S3 prefix" ("Best practices design patterns: optimizing Amazon S3
performance", Amazon S3 User Guide); past them S3 answers ``503 Slow Down`` while it scales,
and the SDKs retry. S3 partitions a bucket's keys by prefix as load grows; the lab takes a key's
prefix to be everything up to its last ``/`` (an assumption: AWS does not document how it
partitions) and counts each prefix's requests of each kind over the last second, on the lab's
clock (AWS seconds). Pure bookkeeping, tested without a lab.
"""

from collections import deque
from dataclasses import dataclass, field

WRITE_RATE = 3500
READ_RATE = 5500
READS = frozenset({"GET", "HEAD"})
WINDOW_SECONDS = 1.0


def prefix_of(key: str) -> str:
    """The partition the lab counts a key under: everything up to its last ``/``."""
    return key.rpartition("/")[0]


@dataclass
class PrefixRates:
    """Requests of the last second per (bucket, prefix, reads or writes)."""

    write_rate: int = WRITE_RATE
    read_rate: int = READ_RATE
    _recent: dict[tuple[str, str, bool], deque[float]] = field(default_factory=dict)

    def admit(self, bucket: str, key: str, method: str, now: float) -> bool:
        """Count one request at ``now``; False (503 SlowDown, not counted) when its prefix has
        had its rate of that kind in the last second."""
        reads = method.upper() in READS
        recent = self._recent.setdefault((bucket, prefix_of(key), reads), deque())
        while recent and recent[0] <= now - WINDOW_SECONDS:
            recent.popleft()
        if len(recent) >= (self.read_rate if reads else self.write_rate):
            return False
        recent.append(now)
        return True
