"""Sample data: a realistic city with planted problems and the exact truth about them.

``generate`` builds everything in memory; ``write_sample`` writes the contract's input
files (in the mix of encodings, headers and spellings real exports use) together with
``truth.csv``, identity labels, ``transfers_seed.csv`` and a ``manifest.json``.
"""

from xueji.sample.config import DEFAULT_AS_OF, SampleConfig
from xueji.sample.generator import Sample, generate
from xueji.sample.writers import write_sample

__all__ = ["DEFAULT_AS_OF", "Sample", "SampleConfig", "generate", "write_sample"]
