"""A text lint over 1,000 generated recipes (320 in `make test`), every caption style: the English a reader would
correct (articles, nesting, spelled counts, doubled words, leaked identifiers, contradicting clauses)."""

from __future__ import annotations

import re

import pytest

from simian.combine.combiner import CombinerOptions, combination_for
from simian.recipe.combination import Combination

#: Numbers read with a leading vowel sound: eight, eleven, eighteen, eighty-, eight hundred, eleven thousand ...
VOWEL_NUMBER = re.compile(r"^(8|11|18)(\d{3})*$|^8\d$|^8\d\d$")
TRANSLATING_MOVES = ("dolly", "crane", "orbit")
OPTIONS = {
    "default": CombinerOptions(),
    "moving": CombinerOptions(movement=True, ontop=True, camera_follow=True, max_objects=3),
    "random": CombinerOptions(random=True, max_objects=4),
    "following": CombinerOptions(movement=True, camera_follow=True, max_objects=2),
}


def lint(text: str) -> list[str]:
    """What is wrong with one caption's English, as short findings."""
    found = []
    for match in re.finditer(r"\b(a|an) (\w+)", text, re.IGNORECASE):
        article, word = match.group(1).lower(), match.group(2).lower()
        if word.isdigit():
            wants = "an" if VOWEL_NUMBER.match(word) else "a"
        elif word[0] in "aeio" or (word[0] == "u" and not word.startswith(("uni", "use", "usu"))):
            wants = "an"
        else:
            wants = "a"
        if article != wants:
            found.append(f"{match.group(0)!r}: {wants}")
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth > 1 or depth < 0:
            found.append("nested or unbalanced parentheses")
            break
    if depth:
        found.append("an unclosed parenthesis")
    if doubled := re.search(r"\b(\w+) \1\b", text, re.IGNORECASE):
        found.append(f"doubled word {doubled.group(0)!r}")
    if re.search(r"  | [,.;:)]|\( |,,|\.\.", text):
        found.append("stray spaces or punctuation")
    if re.search(r"\b(None|null|True|False)\b|[_{}\[\]<>]", text):
        found.append("a leaked identifier or markup")
    for sentence in re.split(r"(?<=[.!?]) ", text):
        if sentence and not sentence[0].isupper():
            found.append(f"sentence starts lower case: {sentence[:30]!r}")
    if not text.endswith("."):
        found.append("does not end with a full stop")
    return found


def captions(c: Combination) -> dict[str, str]:
    texts = {"long": c.caption, "short": c.caption_short or "", "camera": c.caption_camera or ""}
    if c.captions is not None:
        texts.update({f"section {name}": text for name, text in c.captions.model_dump().items() if text})
    return texts


@pytest.mark.parametrize(
    "count",
    # `make test` lints 4 x 80 recipes; the fault and sweep suite (`make test-slow`) all 1,000.
    [pytest.param(80, id="320"), pytest.param(250, id="1000", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("name", OPTIONS)
def test_captions_of_every_style_read_as_correct_english(name, count):
    findings = []
    translating_checked = 0
    for index in range(count):
        c = combination_for(61, index, OPTIONS[name])
        texts = captions(c)
        for style, text in texts.items():
            findings += [f"{name} #{index} {style}: {problem} in {text!r}" for problem in lint(text)]
        if re.search(r"\d", texts["short"]):
            findings.append(f"{name} #{index} short: counts are spelled: {texts['short']!r}")
        following = any(o.camera_follow and o.movement is not None for o in c.objects)
        if following or c.animation.name.startswith(TRANSLATING_MOVES):
            translating_checked += 1
            for style, text in texts.items():
                if "stays in place" in text or "on the spot" in text:
                    findings.append(f"{name} #{index} {style}: a travelling camera 'stays in place': {text!r}")
    assert not findings, "\n".join(findings[:20]) + f"\n({len(findings)} findings)"
    assert translating_checked >= count // 5, translating_checked


def test_the_lint_finds_what_the_captions_once_said():
    """The lint is not a rubber stamp: each example of what earlier captions said is found."""
    for bad in (
        "It is a close-up shot, filmed with a 88 mm lens.",
        "The camera arcs (around the table (clockwise)).",
        "An umbrella and 2 more objects appear on the the floor.",
        "The camera orbits_left.",
        "the scene is lit by a  sunset sky.",
    ):
        assert lint(bad), bad
    assert not lint("It is an extreme close-up shot, filmed with an 18 degree field of view (an 88 mm lens).")
