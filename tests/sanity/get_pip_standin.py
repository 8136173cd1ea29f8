"""Stand-in for the get-pip.py that `ansible-test sanity --venv` downloads.

ansible-test fetches its pip bootstrap script from a host outside PyPI. This
does the same job offline: bootstrap pip with ensurepip, then install the
packages ansible-test asked for (from PyPI, or the local wheel cache).
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

packages = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", *packages])
