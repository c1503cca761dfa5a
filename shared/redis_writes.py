"""Many Redis write commands sent as one script call.

A pipeline saves round trips but not the client's work per command: redis-py
packs every command and parses every reply in Python, ~10 µs each, and a
batch of enriched documents writes thousands (entity names, variants, alias
keys). :class:`WriteBatch` collects commands whose first argument is their
key and sends them as one ``EVALSHA``: one command to pack, one reply. The
script runs them in order, atomically (as every script does), and returns
how many it ran. Only commands named in :data:`ALLOWED` are accepted.
"""

from __future__ import annotations

import redis

__all__ = ["ALLOWED", "WriteBatch"]

ALLOWED = frozenset({"HSET", "HSETNX", "SADD", "EXPIRE", "SET", "XADD"})

# KEYS: one per command. ARGV: per command, its name, the number of its
# other arguments, then those arguments.
_RUN = """
local a = 1
for k = 1, #KEYS do
  local n = tonumber(ARGV[a + 1])
  redis.call(ARGV[a], KEYS[k], unpack(ARGV, a + 2, a + 1 + n))
  a = a + 2 + n
end
return #KEYS
"""


class WriteBatch:
    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(_RUN)
        self._keys: list[str] = []
        self._args: list[str | bytes | int] = []

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, command: str, key: str, *args: str | bytes | int) -> None:
        if command not in ALLOWED:
            raise ValueError(f"WriteBatch runs only {sorted(ALLOWED)}, not {command!r}")
        self._keys.append(key)
        self._args.extend((command, len(args), *args))

    def execute(self) -> int:
        """Run the collected commands (none: no call) and start afresh."""
        if not self._keys:
            return 0
        keys, args = self._keys, self._args
        self._keys, self._args = [], []
        return int(self._script(keys=keys, args=args))
