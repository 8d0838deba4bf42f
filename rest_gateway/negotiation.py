"""Choosing an answer's media type from Accept (RFC 9110, 12.5.1), before any work is done.

Media ranges are case-insensitive; each has a weight (q, 0 to 1, 0 meaning "not
acceptable"); an offer takes the weight of the most specific range that matches it
(type/subtype over type/* over */*). Of the offers with the highest weight above zero, the
server's first (its default) wins; no Accept at all means the default."""

from __future__ import annotations

from dataclasses import dataclass

from rest_gateway.errors import GatewayError


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    weight: float

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*")

    def matches(self, media_type: str) -> bool:
        kind, _, sub = media_type.partition("/")
        return self.type in ("*", kind) and self.subtype in ("*", sub)


def parse_accept(accept: str) -> list[MediaRange]:
    """The ranges of an Accept header; malformed members are skipped, as servers do."""
    ranges = []
    for member in accept.split(","):
        media, *parameters = (part.strip() for part in member.split(";"))
        kind, slash, sub = media.lower().partition("/")
        if not slash or not kind or not sub:
            continue
        ranges.append(MediaRange(kind, sub, _weight(parameters)))
    return ranges


def _weight(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 1.0
    return 1.0


def negotiate(accept: str, offers: list[str]) -> str | None:
    """The offer to answer with (the first is the default), or None when none is acceptable."""
    if not accept.strip():
        return offers[0]
    ranges = parse_accept(accept)
    if not ranges:
        return offers[0]  # nothing readable: as if there were no Accept
    best, best_weight = None, 0.0
    for offer in offers:
        matching = [r for r in ranges if r.matches(offer.lower())]
        if not matching:
            continue
        weight = max(matching, key=lambda r: r.specificity).weight
        if weight > best_weight:
            best, best_weight = offer, weight
    return best


def negotiate_or_406(accept: str, offers: list[str], what: str) -> str:
    chosen = negotiate(accept, offers)
    if chosen is None:
        raise GatewayError(
            406, "not_acceptable", f"{what} gives {' or '.join(offers)}; Accept allows neither"
        )
    return chosen
