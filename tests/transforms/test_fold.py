"""fold: lower-case and strip accents, looking at the non-ASCII runs only."""

from __future__ import annotations

import random
import unicodedata

from transforms.tokens import fold, words


def _reference(text: str) -> str:
    """Every character of the decomposed text, combining marks dropped (the plain rule)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def test_fold_strips_accents_and_keeps_other_scripts() -> None:
    assert fold("Zürich Ångström CAFÉ") == "zurich angstrom cafe"
    assert fold("Москва́ 東京 ﬁne") == "москва 東京 fine"
    assert words("Ça va, Zoë?") == ["ca", "va", "zoe"]


def test_fold_equals_the_plain_rule_on_random_mixed_text() -> None:
    rng = random.Random(7)
    pool = ([chr(i) for i in range(32, 127)] * 20 + [chr(i) for i in range(0xA0, 0x2000)]
            + [chr(i) for i in range(0x0300, 0x0370)] * 3 + [chr(i) for i in range(0x4E00, 0x4E40)])
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 120)))
        assert fold(text) == _reference(text), text
