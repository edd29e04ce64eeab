"""Inference backends: what runs on each node of an instance, as a `LaunchPlan`. Pure.

`catalog` lists the built-in backends (versions, images per accelerator family, health paths);
`launch` builds their plans, `user_backend` and `custom` those of user-defined and inline custom
commands; `for_spec` picks the right one for a deployment and a node; `plan` is the result.
"""
