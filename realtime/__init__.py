"""The live layer: which fragments each event re-renders, and (later) the hub, bus and presence."""
