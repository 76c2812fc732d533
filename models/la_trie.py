"""The LA directory's free-text matcher, built once: every alias in one regex shaped as a character trie.

The engine then follows one branch per position instead of trying ~1,400 alternatives (that is what
keeps `Directory.find` well under a millisecond on a long email). Trie branches are ordered longest-first,
so at any start position the longest alias wins ("North Yorkshire" over "North ...", "Derbyshire County
Council" over "Derby"). Bottom layer: imports nothing from the project.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


# An alias of one token with two or more capitals (RBKC, H&F, LBRuT, IoW) is an acronym: matched exactly,
# because lower-case "iow" or "bcp" in running text is noise, and always explicit.
def is_acronym(alias: str) -> bool:
    return not re.search(r"[\s\-]", alias) and sum(c.isupper() for c in alias) >= 2


_SEP = r"[\s\-]+"  # "Stoke-on-Trent" == "Stoke on Trent"; a line break inside a name is fine too
_SEP_COMMA = r"\s*,?[\s\-]+"
_AND = r"(?:[aA][nN][dD]|&)"
_END = r"(?![\w&@]|\.\w)"  # not followed by more word, nor by ".gov.uk"-style domain parts


def _char_atom(c: str, case_insensitive: bool) -> str:
    if c == ".":
        return r"\.?"
    if c in "'’":
        return "['’]?"
    if case_insensitive and c.lower() != c.upper():
        return f"[{re.escape(c.lower())}{re.escape(c.upper())}]"
    return re.escape(c)


def _alias_atoms(alias: str) -> list[str]:
    """Regex atoms (one per character or separator) for one alias, with its case rule baked in."""
    if is_acronym(alias):
        return [r"\s?&\s?" if c == "&" else re.escape(c) for c in alias]
    parts = re.split(r"([\s\-,]+)", alias.strip())
    words = parts[0::2]
    single = len(words) == 1
    atoms: list[str] = []
    for i, part in enumerate(parts):
        if i % 2:
            atoms.append(_SEP_COMMA if "," in part else _SEP)
        elif part == "&" or part.lower() == "and":
            atoms.append(_AND)
        elif single:
            # One word: capital first letter required ("Reading" but not "reading the letter",
            # "Bury" but not "we will bury").
            atoms.append(re.escape(part[0]))
            atoms.extend(_char_atom(c, True) for c in part[1:])
        else:
            atoms.extend(_char_atom(c, True) for c in part)
    return atoms


class _Node:
    __slots__ = ("children", "depth", "end")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.end = False
        self.depth = 0  # longest path below, to try longer branches first


def trie_pattern(alias_list: Iterable[str]) -> str:
    root = _Node()
    for alias in alias_list:
        node = root
        for atom in _alias_atoms(alias):
            node = node.children.setdefault(atom, _Node())
        node.end = True

    def depth(node: _Node) -> int:
        node.depth = 1 + max((depth(c) for c in node.children.values()), default=0)
        return node.depth

    def emit(node: _Node) -> str:
        alts = [atom + emit(child) for atom, child in sorted(node.children.items(), key=lambda kv: -kv[1].depth)]
        if node.end:
            alts.append(_END)
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    depth(root)
    return emit(root)
