from sdf_lsp.cli import main

raise SystemExit(main())
