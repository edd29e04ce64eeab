"""Typed readers for request params: each raises `bad_request` naming the offending key."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypeVar, Union, overload

from agent.errors import BAD_REQUEST, AgentError

_MISSING = object()
_T = TypeVar("_T")


def _get(params: Dict[str, Any], key: str, default: Any) -> Any:
    value = params.get(key, _MISSING)
    if value is _MISSING or value is None:
        if default is _MISSING:
            raise AgentError(BAD_REQUEST, f"missing param {key!r}")
        return default
    return value


@overload
def get_str(params: Dict[str, Any], key: str) -> str: ...
@overload
def get_str(params: Dict[str, Any], key: str, default: _T) -> Union[str, _T]: ...
def get_str(params: Dict[str, Any], key: str, default: object = _MISSING) -> object:
    """`params[key]` as a string; `default` when absent or null (required if no default)."""
    value = _get(params, key, default)
    if value is not default and not isinstance(value, str):
        raise AgentError(BAD_REQUEST, f"param {key!r} must be a string")
    return value


@overload
def get_int(params: Dict[str, Any], key: str) -> int: ...
@overload
def get_int(params: Dict[str, Any], key: str, default: _T) -> Union[int, _T]: ...
def get_int(params: Dict[str, Any], key: str, default: object = _MISSING) -> object:
    """`params[key]` as an integer (booleans refused)."""
    value = _get(params, key, default)
    if value is not default and (isinstance(value, bool) or not isinstance(value, int)):
        raise AgentError(BAD_REQUEST, f"param {key!r} must be an integer")
    return value


@overload
def get_float(params: Dict[str, Any], key: str) -> float: ...
@overload
def get_float(params: Dict[str, Any], key: str, default: _T) -> Union[float, _T]: ...
def get_float(params: Dict[str, Any], key: str, default: object = _MISSING) -> object:
    """`params[key]` as a non-negative number."""
    value = _get(params, key, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise AgentError(BAD_REQUEST, f"param {key!r} must be a non-negative number")
    return float(value)


def get_str_list(params: Dict[str, Any], key: str) -> List[str]:
    """`params[key]` as a non-empty list of strings."""
    value = _get(params, key, _MISSING)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise AgentError(BAD_REQUEST, f"param {key!r} must be a non-empty list of strings")
    return list(value)


def get_str_map(params: Dict[str, Any], key: str) -> Dict[str, str]:
    """`params[key]` as a `{str: str}` object; empty when absent or null."""
    value = _get(params, key, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise AgentError(BAD_REQUEST, f"param {key!r} must be an object of strings to strings")
    return dict(value)


def get_optional_str(params: Dict[str, Any], key: str) -> Optional[str]:
    """`params[key]` as a string, or None when absent or null."""
    return get_str(params, key, None)
