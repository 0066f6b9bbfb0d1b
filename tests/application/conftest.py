"""The access tests' multi-centre registry (Rotterdam and Utrecht of DCOG, Monza of AIEOP)."""

from tests.access.conftest import World, build_world, world

__all__ = ["World", "build_world", "world"]
