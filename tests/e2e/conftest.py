from tests.support import (  # noqa: F401 - fixtures
    database_url,
    emulator,
    emulator_config,
    engine,
    make_settings,
    settings,
    template_db,
)
