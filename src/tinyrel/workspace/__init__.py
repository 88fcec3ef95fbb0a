"""The release workspace as files: where each file lives (``layout``) and the release spec
(``spec``, parsed strictly by ``_spec_reader``).  Every later stage reads the workspace through here."""
