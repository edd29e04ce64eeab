"""Is an instance ready to serve? The backend's health path answered 200."""

from __future__ import annotations

import httpx

HEALTH_PATH = "/v1/models"


class HealthChecker:
    """Probes instances over one shared HTTP client."""

    def __init__(self, timeout: float = 2.0):
        self._client = httpx.AsyncClient(timeout=timeout)

    async def ready(self, address: str, port: int, path: str = HEALTH_PATH) -> bool:
        """True when `GET http://address:port<path>` answers 200."""
        host = f"[{address}]" if ":" in address else address
        try:
            response = await self._client.get(f"http://{host}:{port}{path}")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
