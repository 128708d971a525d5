"""CLI subcommands that live in their own modules (see edge_affect.cli.COMMAND_MODULES)."""
