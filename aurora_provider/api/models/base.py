"""What every wire model builds on: strict requests, open configurations, key parts, and
numbers and texts with bounds (a request never carries NaN, infinity or megabytes of text).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from aurora_provider.config.keys import KEY_PART, MAX_KEY_PART_LENGTH, key_part_problem
from aurora_provider.config.validation import MAX_INSTANCES, MAX_NUMBER

# The longest message (kill, update) and metadata value the scheduler stores.
MAX_MESSAGE = 4096
MAX_METADATA = 64  # entries of a task's metadata
MAX_NAME = 255  # port, constraint, attribute and host names


def _key_part(value: str) -> str:
    problem = key_part_problem(value)
    if problem is not None:  # the loader's words, without pydantic's "Value error, "
        raise PydanticCustomError("job_key_part", f"{value!r} {problem}")
    return value


# The loader's rule for key parts (aurora_provider.config.keys), not a copy of it.
KeyPart = Annotated[str, Field(min_length=1, max_length=MAX_KEY_PART_LENGTH,
                               pattern=KEY_PART.pattern), AfterValidator(_key_part)]
Instance = Annotated[int, Field(ge=0, lt=MAX_INSTANCES)]
InstanceCount = Annotated[int, Field(ge=1, le=MAX_INSTANCES)]
Int64 = Annotated[int, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
Message = Annotated[str, Field(max_length=MAX_MESSAGE)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
