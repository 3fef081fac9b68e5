"""Pick the render device: OptiX > CUDA > HIP > CPU unless the user names one."""

from __future__ import annotations

import bpy

GPU_PREFERENCE = ("OPTIX", "CUDA", "HIP")


def choose_device(requested: str, available: list[str]) -> str:
    """`available` holds the GPU backends that have at least one device."""
    if requested == "cpu":
        return "CPU"
    if requested != "auto":
        wanted = requested.upper()
        if wanted not in available:
            raise RuntimeError(
                f"device: {requested} was requested but no {wanted} device is present "
                f"(found: {', '.join(available) or 'CPU only'}); use --device auto or cpu"
            )
        return wanted
    for backend in GPU_PREFERENCE:
        if backend in available:
            return backend
    return "CPU"


def available_gpu_backends() -> list[str]:
    prefs = bpy.context.preferences.addons["cycles"].preferences
    found = []
    for backend in GPU_PREFERENCE:
        try:
            prefs.compute_device_type = backend
            prefs.refresh_devices()
            devices = prefs.get_devices_for_type(backend)
        except (TypeError, ValueError, AttributeError):
            continue
        if any(d.type == backend for d in devices):
            found.append(backend)
    return found


def configure_cycles_device(scene: bpy.types.Scene, requested: str, backends: list[str]) -> str:
    """Enable every device of the chosen backend; return its name for the sidecar."""
    choice = choose_device(requested, backends)
    if choice == "CPU":
        scene.cycles.device = "CPU"
        return "CPU"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    prefs.compute_device_type = choice
    prefs.refresh_devices()
    for device in prefs.get_devices_for_type(choice):
        device.use = device.type == choice
    scene.cycles.device = "GPU"
    return choice
