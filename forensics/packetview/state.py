"""What one run of the view carries from packet to packet: options and tcpdump's TCP sequence table."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ViewOptions:
    """tcpdump's printing switches: -e (link header), -v count, time stamp mode (see timefmt)."""

    link_header: bool = False
    verbose: int = 0
    ts_mode: int = 1


@dataclass
class ViewState:
    """Options plus the per-conversation initial sequence numbers tcpdump keeps for relative seq/ack."""

    options: ViewOptions = field(default_factory=ViewOptions)
    tcp_seq: dict[tuple, tuple[int, int]] = field(default_factory=dict)

    @property
    def eflag(self) -> bool:
        return self.options.link_header

    @property
    def vflag(self) -> int:
        return self.options.verbose
