import sys
from pathlib import Path

# Let tests import the helper scripts that live beside them (strip_outputs.py).
sys.path.insert(0, str(Path(__file__).parent))
