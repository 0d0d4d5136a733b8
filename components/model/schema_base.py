"""The schema's building blocks: the base model every section uses (strict, camelCase, frozen) and the
patterns and types several sections share (components/model/schema.py, fleet_schema.py).
"""

from __future__ import annotations

import ipaddress
from types import UnionType
from typing import Annotated, Any, Optional, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# Patterns of the schema; components/model/translate.py explains each to the user in words.
DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
PROJECT_ID = r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$"
REGION = r"^[a-z]+-[a-z]+[0-9]{1,2}$"  # two-digit regions exist (europe-west12)
VERSION = r"^[0-9]+\.[0-9]+\.[0-9]+$"
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL, max_length=40)]


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        pass
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PydanticCustomError(
            "platform_cidr", "{value} is not a CIDR block (address/prefix length)",
            {"value": repr(value), "fix": "write it like 10.0.0.0/22"},
        ) from None
    raise PydanticCustomError(
        "platform_cidr", "{value} has host bits set: the block starting at that prefix is {network}",
        {"value": repr(value), "network": str(network), "fix": f"write {network}", "example": str(network)},
    ) from None


Cidr = Annotated[str, AfterValidator(_cidr)]


def _scalar(annotation: Any) -> Optional[type]:
    """bool, int or float when a field holds that scalar (through Optional/Annotated), else None."""
    while get_origin(annotation) in (Annotated, Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        annotation = args[0] if len(args) == 1 or get_origin(annotation) is Annotated else None
    return annotation if annotation in (bool, int, float) else None


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_coercion(cls, value: Any, info: ValidationInfo) -> Any:
        """A value of the wrong kind is refused by what it is, never converted: `gpus: true` is not 1,
        `deletionProtection: "yes"` is not true, `maxNodes: "10"` is text, `minReplicas: 1.0` is not a whole number
        (pydantic's lax mode converts all four)."""
        want = _scalar(cls.model_fields[info.field_name].annotation)
        if want is None or value is None:
            return value
        wrong = (not isinstance(value, bool)) if want is bool else (
            isinstance(value, (bool, str)) or (want is int and isinstance(value, float)))  # 1.0 is not a count
        if wrong:  # pydantic's own error kinds, worded for the user by translate.py like any other
            kind = {bool: "bool_type", int: "int_type", float: "float_type"}[want]
            raise PydanticCustomError(kind, "wrong kind of value")
        return value


class FlavorQuota(Model):
    flavor: DnsLabel = Field(description="Name of a GPU pool or NAP shape.")
    gpus: int = Field(ge=0, description="Nominal GPUs this queue owns in the flavor.")
    borrowing_limit: Optional[int] = Field(
        None, ge=0, description="GPUs it may borrow from its cohort; unset = no limit."
    )
    lending_limit: Optional[int] = Field(
        None, ge=0, description="GPUs of its nominal quota the cohort may borrow; unset = all of it (the rest is "
        "kept for this queue alone, even when idle).")
