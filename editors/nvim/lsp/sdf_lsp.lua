-- sdf_lsp for Neovim 0.11+ without the plugin's setup(): with this folder on 'runtimepath',
--   vim.lsp.enable("sdf_lsp")
-- starts the server for *.system files (filetype `sdf`, from ftdetect/). Settings:
--   vim.lsp.config("sdf_lsp", { settings = { sdf = { target = { board = "..." } } } })
-- The server: `sdf-lsp serve` when sdf-lsp is on PATH, else `python3 -m sdf_lsp serve` with the
-- project's .venv/bin/python if it has one.
return {
  cmd = function(dispatchers, config)
    local root = config and config.root_dir
    local cmd = { "sdf-lsp", "serve" }
    if vim.fn.executable("sdf-lsp") ~= 1 then
      local venv = root and (root .. "/.venv/bin/python")
      local python = (venv and vim.fn.executable(venv) == 1) and venv or "python3"
      cmd = { python, "-m", "sdf_lsp", "serve" }
    end
    return vim.lsp.rpc.start(cmd, dispatchers, { cwd = root })
  end,
  filetypes = { "sdf" },
  root_markers = { ".git", ".venv" },
  init_options = { sdf = {} },
  settings = { sdf = {} },
  -- the code lenses' commands (references into the quickfix list, a PD's CSpace in a split)
  commands = require("sdf_lsp").lens_commands,
}
