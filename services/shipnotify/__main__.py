from shipnotify.cli import main

raise SystemExit(main())
