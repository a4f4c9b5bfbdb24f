"""One real city (长沙市) and the places its families come from, as GB/T 2260 codes.

County codes are real; the 3-digit township and village-level parts follow the
statistical-code layout (001–099 street offices, 100–199 towns; 001–199 neighbourhood
committees, 200–399 village committees) but are drawn, not copied from a register.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CITY_NAME = "长沙市"
CITY_PREFIX = "4301"

# (code, name, share of the city's pupils, district?)
COUNTIES: tuple[tuple[str, str, float, bool], ...] = (
    ("430102", "芙蓉区", 0.08, True),
    ("430103", "天心区", 0.08, True),
    ("430104", "岳麓区", 0.14, True),
    ("430105", "开福区", 0.09, True),
    ("430111", "雨花区", 0.13, True),
    ("430112", "望城区", 0.08, True),
    ("430121", "长沙县", 0.13, False),
    ("430181", "浏阳市", 0.14, False),
    ("430182", "宁乡市", 0.13, False),
)
COUNTY_NAMES = {code: name for code, name, _, _ in COUNTIES}

# Codes in force before a county changed status: IDs issued then keep the old code.
OLD_ID_AREA = {"430182": ("430124", "2017-04-10"), "430112": ("430122", "2011-06-01")}

# Counties elsewhere that send migrant families to 长沙 (real GB/T 2260 codes).
ELSEWHERE = (
    "430202", "430203", "430302", "430304", "430405", "430421", "430502", "430602",
    "430621", "430702", "430721", "430802", "430902", "430921", "431002", "431102",
    "431202", "431302", "431321", "433101", "420102", "420106", "360102", "440106",
    "440305", "520102", "510104", "410105", "450102",
)  # fmt: skip


@dataclass(frozen=True)
class Area:
    """A county's townships (9-digit codes) and villages/neighbourhoods (12-digit codes)."""

    county: str
    townships: np.ndarray  # int64 9-digit codes
    villages: np.ndarray  # int64 12-digit codes
    village_township: np.ndarray  # index into townships for each village


def build_area(county: str, n_townships: int, rng: np.random.Generator) -> Area:
    """Townships of a county: street offices first, then towns; 8–25 villages each."""
    streets = max(2, int(round(n_townships * 0.6)))
    codes = [int(county) * 1000 + i for i in range(1, streets + 1)]
    codes += [int(county) * 1000 + 100 + i for i in range(1, n_townships - streets + 1)]
    villages: list[int] = []
    owner: list[int] = []
    for t, code in enumerate(codes):
        n = int(rng.integers(8, 26))
        town = t >= streets
        for k in range(n):
            # towns have a few neighbourhoods and mostly village committees (2xx)
            part = (200 + k - 2) if (town and k >= 2) else (k + 1)
            villages.append(code * 1000 + part)
            owner.append(t)
    return Area(
        county=county,
        townships=np.array(codes, dtype=np.int64),
        villages=np.array(villages, dtype=np.int64),
        village_township=np.array(owner),
    )


def elsewhere_villages(n: int, rng: np.random.Generator) -> np.ndarray:
    """12-digit codes in counties outside the city (hukou of migrant families)."""
    county = np.array([int(c) for c in ELSEWHERE], dtype=np.int64)[
        rng.integers(0, len(ELSEWHERE), size=n)
    ]
    return county * 10**6 + rng.integers(1, 12, size=n) * 1000 + rng.integers(1, 25, size=n)
