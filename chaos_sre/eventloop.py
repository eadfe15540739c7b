"""The event loop chaos-sre's own servers and clients run on: uvloop where it is installed.

uvloop (libuv) costs about a third less CPU per request than asyncio's selector loop, measured
for the SLI sampler (docs/performance.md, "Where the sampler's time goes"); the sampler and the
lab's endpoint both serve or send hundreds of requests a second beside the run they measure.
Without uvloop (Windows, or an install without it) asyncio's own loop is used.
"""

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's where it is installed, else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop
