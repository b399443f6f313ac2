"""Small infrastructure pieces shared by several faces; they import nothing else of `app`."""
