"""`python -m sparsegate …`: the same CLI as the `sparsegate` command."""
import sys

from .tools.cli import main

sys.exit(main())
