"""The presence states, as a string enum: ``PresenceState.ONLINE == "online"``."""

from __future__ import annotations

import enum


class PresenceState(str, enum.Enum):
    """What a contact is doing, or what you tell WhatsApp you are doing.

    ``UNKNOWN`` is what a server word that no engine documents becomes; it can be read but not
    sent.
    """

    ONLINE = "online"
    OFFLINE = "offline"
    TYPING = "typing"
    RECORDING = "recording"
    PAUSED = "paused"
    UNKNOWN = "unknown"

    def __str__(self) -> str:  # f"{state}" gives "online", as for a plain string
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> PresenceState | None:
        # PresenceState("ONLINE") works like PresenceState("online").
        if isinstance(value, str):
            for member in cls:
                if member.value == value.lower():
                    return member
        return None


PresenceState.__module__ = "wawp_presence"  # the public path, for reprs and pickling
