"""Customers' app devices on the local API: the store's app registers an install for push receipts.

`POST /v1/customers/devices` with `{"loyalty_id", "token", "platform": "android"|"ios"|"web", "app"?}`
answers `201` with the device (its token masked) when it is new, `200` when the token was known;
`DELETE /v1/customers/devices/{device_id}` forgets it (`204`, or `404` when there is no such device).
Both need the `devices:write` scope (`app/server/auth.py`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.domain.app_devices import AppDevice, mask_device_token
from app.server.auth import DEVICES, client_of
from app.services.app_devices import AppDeviceService
from app.support.json_limits import JsonRejected, loads


class DeviceOut(BaseModel):
    """A registered app device; the token only masked."""

    id: int
    customer_id: int
    platform: str
    app: str | None
    token: str
    created: bool

    @classmethod
    def of(cls, device: AppDevice, *, created: bool) -> DeviceOut:
        return cls(
            id=device.id,
            customer_id=device.customer_id,
            platform=device.platform.value,
            app=device.app,
            token=mask_device_token(device.token),
            created=created,
        )


_DEVICE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["loyalty_id", "token", "platform"],
    "additionalProperties": False,
    "properties": {
        "loyalty_id": {"type": "string", "maxLength": 64, "description": "The customer's loyalty id"},
        "token": {"type": "string", "minLength": 20, "maxLength": 254, "description": "The push registration token"},
        "platform": {"type": "string", "enum": ["android", "ios", "web"]},
        "app": {"type": "string", "maxLength": 64, "description": "The app's name (optional)"},
    },
}


def device_router(devices: AppDeviceService) -> APIRouter:
    """The register and unregister routes over `devices`."""
    router = APIRouter(tags=["app devices"])

    @router.post(
        DEVICES,
        status_code=201,
        response_model=DeviceOut,
        summary="Register a customer's app device for push receipts (idempotent on the token)",
        responses={200: {"model": DeviceOut, "description": "The token was registered already"}},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": _DEVICE_BODY}}}},
    )
    async def register_device(request: Request) -> Response:
        try:
            payload = loads(await request.body())
        except JsonRejected as exc:
            return JSONResponse({"error": f"Body is not acceptable JSON: {exc.message}."}, status_code=422)
        client = client_of(request)
        registration = await devices.register(payload, client=client.name if client else "api")
        body = DeviceOut.of(registration.device, created=registration.created)
        return JSONResponse(body.model_dump(mode="json"), status_code=201 if registration.created else 200)

    @router.delete(
        DEVICES + "/{device_id}",
        status_code=204,
        summary="Unregister an app device (signed out or uninstalled)",
        responses={404: {"description": "No such device"}},
    )
    async def unregister_device(device_id: int, request: Request) -> Response:
        client = client_of(request)
        await devices.unregister(device_id, client=client.name if client else "api")
        return Response(status_code=204)

    return router
