"""The concerns ``shared.settings.Settings`` is made of, one module each; import them from there.

A setting changes with its concern (a new provider option, a new Kafka knob, a service's tuning), so
each concern's fields live in their own class and ``Settings`` composes them with the checks that
span concerns. Nothing here reads the environment: only ``Settings()`` does.
"""
