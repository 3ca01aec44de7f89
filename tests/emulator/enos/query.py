# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS searches: pagination, projection and the expression language (field='v', field in ('a','b'), joined by "and")."""

from __future__ import annotations

import re
from typing import Any

from flask import Response

from .base import INVALID_ARGUMENT, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, EnosError, reply


def page(body: dict[str, Any], sorters_allowed: bool) -> tuple[int, int]:
    """(pageNo, pageSize) of a search body."""
    pagination = body.get("pagination")
    if pagination is None:
        return 1, PAGE_SIZE_DEFAULT
    if not isinstance(pagination, dict):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument pagination")
    page_no = pagination.get("pageNo", 1)
    page_size = pagination.get("pageSize", PAGE_SIZE_DEFAULT)
    for key, value in (("pageNo", page_no), ("pageSize", page_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise EnosError(INVALID_ARGUMENT, f"Invalid Argument pagination.{key}: must be an integer >= 1")
    if page_size > PAGE_SIZE_MAX:
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument pagination.pageSize: must be <= {PAGE_SIZE_MAX}")
    if pagination.get("sorters") and not sorters_allowed:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument pagination.sorters: not supported")
    return page_no, page_size


def paged(items: list[dict[str, Any]], page_no: int, page_size: int) -> Response:
    """One page of the items, in the EnOS envelope with its pagination."""
    start = (page_no - 1) * page_size
    return reply(items[start:start + page_size], {"sortedBy": None, "pageNo": page_no, "pageSize": page_size, "totalSize": len(items)})


# -- expressions -------------------------------------------------------------------
_TERM = re.compile(r"""\s*([A-Za-z][\w.]*)\s*(?:(=|!=)\s*('(?:[^']*)'|true|false|-?\d+)|\s+in\s*\(([^)]*)\))\s*""", re.IGNORECASE)
_VALUE = re.compile(r"\s*'([^']*)'\s*(?:,|$)")


def parse_expression(text: Any, allowed: dict[str, tuple[str, ...]]) -> list[tuple[str, str, Any]]:
    """Terms (field, op, value) of an expression; EnosError 99400 for syntax, unknown fields or operators."""
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument expression")
    terms = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _TERM.fullmatch(part)
        if not match:
            raise EnosError(INVALID_ARGUMENT, f"Invalid Argument expression: cannot parse {part!r}")
        name, operator, scalar, listed = match.groups()
        operator = operator or "in"
        if name not in allowed or operator not in allowed[name]:
            raise EnosError(INVALID_ARGUMENT, f"Invalid Argument expression: {name} {operator} is not supported")
        if operator == "in":
            values = []
            rest = listed.strip()
            while rest:
                item = _VALUE.match(rest)
                if not item:
                    raise EnosError(INVALID_ARGUMENT, f"Invalid Argument expression: bad list {listed!r}")
                values.append(item.group(1))
                rest = rest[item.end():].strip()
            terms.append((name, "in", set(values)))
        elif scalar.startswith("'"):
            terms.append((name, operator, scalar[1:-1]))
        elif scalar.lower() in ("true", "false"):
            terms.append((name, operator, scalar.lower() == "true"))
        else:
            terms.append((name, operator, scalar))
    return terms


def matches(item: dict[str, Any], terms: list[tuple[str, str, Any]]) -> bool:
    """True if the item satisfies every term."""
    for name, operator, value in terms:
        actual = item
        for part in name.split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if operator == "in":
            if actual not in value:
                return False
        elif operator == "=" and actual != value:
            return False
        elif operator == "!=" and actual == value:
            return False
    return True


def project(item: dict[str, Any], projection: Any) -> dict[str, Any]:
    """The item reduced to the projected keys ("*" = all)."""
    if projection is None:
        return item
    if not isinstance(projection, list) or not all(isinstance(key, str) for key in projection):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument projection")
    if "*" in projection:
        return item
    return {key: item[key] for key in projection if key in item}
