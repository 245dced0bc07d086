"""What every wire model builds on: strict requests, open configurations, key parts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

KeyPart = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[\w\-\.]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
