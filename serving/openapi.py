"""Print the service's OpenAPI spec: ``python -m serving.openapi > docs/openapi.json``.

The committed ``docs/openapi.json`` is the HTTP contract clients code against;
``tests/serving/test_openapi.py`` fails when it differs from what the app serves.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from recsys.context import AppContext
from recsys.settings import Settings


def spec() -> dict[str, Any]:
    from serving.app import create_app

    # Default settings: the spec must not depend on the local environment.
    app = create_app(AppContext(Settings()))
    return app.openapi()


def render() -> str:
    return json.dumps(spec(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
