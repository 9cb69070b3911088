"""Secrets by reference: config.toml names environment variables, never values.

``secret("SLACK_BOT_TOKEN")`` reads the variable, or the file that ``SLACK_BOT_TOKEN_FILE`` names
(Docker and Kubernetes secrets), at the moment a notifier needs it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from monitor.errors import SecretError


def secret(env_name: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """Read a secret from the environment variable ``env_name``, or from the file that
    ``env_name + '_FILE'`` names. None when neither is set; SecretError when the file cannot be
    read as text."""
    if not env_name:
        return None
    environ = os.environ if environ is None else environ
    value = environ.get(env_name)
    if value:
        return value.strip()
    file_name = environ.get(env_name + "_FILE")
    if not file_name:
        return None
    try:
        return Path(file_name).read_text(encoding="utf-8").strip()
    except IsADirectoryError:
        problem = "is a folder, not a file"
    except FileNotFoundError:
        problem = "does not exist"
    except PermissionError:
        problem = f"cannot be read by this process (uid {os.getuid()})"
    except UnicodeDecodeError:
        problem = "is not UTF-8 text"
    except OSError as e:
        problem = f"cannot be read ({e.strerror or e})"
    raise SecretError(f"{env_name}_FILE names {file_name}, which {problem}; point it at the file holding the secret")
