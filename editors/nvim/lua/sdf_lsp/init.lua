-- Neovim client for the sdf_lsp language server (seL4 Microkit System Description Files).
--
--   require("sdf_lsp").setup({
--     cmd = nil,             -- full command; default: `sdf-lsp serve` when sdf-lsp is on PATH, else
--                            -- `<python> -m sdf_lsp serve` with <root>/.venv/bin/python or python3
--     python = nil,          -- that interpreter instead (then sdf-lsp on PATH is not used)
--     settings = {           -- the `sdf` settings section
--       target = { board = "qemu_virt_aarch64", config = "release", sdk = nil, file = nil },
--       searchPaths = { "build" }, dialect = nil, hints = { authority = true },  -- dialect nil: from the SDK
--       build = { outDir = nil },
--     },
--     root_markers = { ".git", ".venv" },
--     graph = { view = "authority", open = nil },  -- open: function(path) | argv list | program name | false
--     cspace = { split = "vertical" },              -- "vertical" | "horizontal" | "tab"
--     on_attach = nil, capabilities = nil,
--   })
--
-- Works with Neovim 0.7 (vim.lsp.start_client), 0.8-0.10 (vim.lsp.start) and 0.11+
-- (vim.lsp.config / vim.lsp.enable). User commands: :SdfBuild [outDir], :SdfCSpace [pd],
-- :SdfGraph [authority|memory]. The server's code lenses (vim.lsp.codelens) run here: references
-- and mappings into the quickfix list, a PD's CSpace in a split.
local M = {}

M.name = "sdf_lsp"
M.filetypes = { "sdf" }

local defaults = {
  python = nil,
  cmd = nil,
  settings = {},
  root_markers = { ".git", ".venv" },
  graph = { view = "authority", open = nil },
  cspace = { split = "vertical" },
  on_attach = nil,
  capabilities = nil,
}

M.options = vim.deepcopy(defaults)
M.last_build = nil -- result of the last :SdfBuild ({ ok, outDir, files, report })
M.last_graph = nil -- path of the last SVG written by :SdfGraph

local uv = vim.loop
local has = function(feature)
  return vim.fn.has(feature) == 1
end

-- Deferred: an error message from inside an autocommand (filetype detection starts the
-- server) would otherwise abort it with a Lua stack trace on Neovim 0.11+.
local function notify(msg, level)
  vim.schedule(function()
    vim.notify("sdf-lsp: " .. msg, level or vim.log.levels.INFO)
  end)
end

local function is_executable_file(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == "file" and vim.fn.executable(path) == 1
end

local function dirname(path)
  return vim.fn.fnamemodify(path, ":h")
end

--- The project root of a file: the nearest folder up with one of the markers, else its own folder.
function M.find_root(path)
  local dir = dirname(path)
  local cur = dir
  while true do
    for _, marker in ipairs(M.options.root_markers or {}) do
      if uv.fs_stat(cur .. "/" .. marker) then
        return cur
      end
    end
    local parent = dirname(cur)
    if parent == cur then
      return dir
    end
    cur = parent
  end
end

--- The interpreter for a root: `python` option, else <root>/.venv/bin/python, else python3.
function M.python_for(root)
  if M.options.python and M.options.python ~= "" then
    return vim.fn.expand(M.options.python)
  end
  if root then
    for _, candidate in ipairs({ root .. "/.venv/bin/python", root .. "/.venv/bin/python3" }) do
      if is_executable_file(candidate) then
        return candidate
      end
    end
  end
  return "python3"
end

--- The command line that starts the server for a root: `cmd`, else `sdf-lsp serve` from PATH
--- (unless `python` is set), else `<python> -m sdf_lsp serve`.
function M.server_cmd(root)
  local cmd = M.options.cmd
  if type(cmd) == "string" then
    cmd = vim.split(cmd, "%s+", { trimempty = true })
  end
  if type(cmd) == "table" and #cmd > 0 then
    return cmd
  end
  if not (M.options.python and M.options.python ~= "") and vim.fn.executable("sdf-lsp") == 1 then
    return { "sdf-lsp", "serve" }
  end
  return { M.python_for(root), "-m", "sdf_lsp", "serve" }
end

local checked = {}
--- Whether the server's interpreter can import sdf_lsp; explains what to install when not.
function M.check_python(root)
  local cmd = M.server_cmd(root)
  if cmd[2] ~= "-m" or cmd[3] ~= "sdf_lsp" then
    return true -- not `<python> -m sdf_lsp`: nothing to check
  end
  local python = cmd[1]
  if checked[python] ~= nil then
    return checked[python]
  end
  local ok
  if vim.fn.executable(python) ~= 1 then
    notify(
      ("the Python interpreter '%s' was not found; set `python` (or `cmd`) in require('sdf_lsp').setup()"):format(python),
      vim.log.levels.ERROR
    )
    ok = false
  else
    local out = vim.fn.system({ python, "-c", "import sdf_lsp, pygls, lsprotocol" })
    ok = vim.v.shell_error == 0
    if not ok then
      local last = vim.trim(out):match("([^\n]*)$") or out
      local missing = last:match("No module named '([%w_.]+)'")
      local what = missing and ("the Python package '" .. missing .. "' is not installed") or ("'import sdf_lsp' failed: " .. last)
      notify(
        ("%s for %s, and there is no `sdf-lsp` on PATH. Install it (`pipx install sdf-lsp`, or "
          .. "`%s -m pip install sdf-lsp`), or point `python` in require('sdf_lsp').setup() at an "
          .. "interpreter that has it"):format(what, python, python),
        vim.log.levels.ERROR
      )
    end
  end
  checked[python] = ok
  return ok
end

local function settings_section()
  return { sdf = M.options.settings or {} }
end

-- -- clients --------------------------------------------------------------------------------
local function clients_for(bufnr)
  local out = {}
  if vim.lsp.get_clients then
    out = vim.lsp.get_clients({ bufnr = bufnr, name = M.name })
  else
    for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
      if c.name == M.name then
        table.insert(out, c)
      end
    end
  end
  return out
end

local function all_clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = M.name })
  end
  local out = {}
  for _, c in pairs(vim.lsp.get_active_clients()) do
    if c.name == M.name then
      table.insert(out, c)
    end
  end
  return out
end

local function client_request(client, method, params, handler, bufnr)
  if has("nvim-0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

local function client_notify(client, method, params)
  if has("nvim-0.11") then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

local function base_config(root)
  local config = {
    name = M.name,
    cmd = M.server_cmd(root),
    cmd_cwd = root,
    root_dir = root,
    init_options = settings_section(),
    settings = settings_section(),
    capabilities = M.options.capabilities,
    on_attach = M.options.on_attach,
    commands = M.lens_commands,
    flags = { allow_incremental_sync = true, debounce_text_changes = 50 },
  }
  if root then
    config.workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } }
  end
  return config
end

-- Neovim 0.7: one client per root, attached on FileType.
local started = {} -- root -> client id
local function attach_07(bufnr)
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    return
  end
  local root = M.find_root(path)
  local id = started[root]
  if id and vim.lsp.get_client_by_id(id) and not vim.lsp.client_is_stopped(id) then
    vim.lsp.buf_attach_client(bufnr, id)
    return
  end
  if not M.check_python(root) then
    return
  end
  id = vim.lsp.start_client(base_config(root))
  if id then
    started[root] = id
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

-- Neovim 0.8-0.10: vim.lsp.start reuses a client with the same name and root.
local function attach_08(bufnr)
  local path = vim.api.nvim_buf_get_name(bufnr)
  if path == "" then
    return
  end
  local root = M.find_root(path)
  if not M.check_python(root) then
    return
  end
  vim.lsp.start(base_config(root), { bufnr = bufnr })
end

-- Neovim 0.11+: a named config, enabled for the filetype.
local function setup_011()
  local last_root
  vim.lsp.config(M.name, {
    cmd = function(dispatchers, config)
      local root = (config and config.root_dir) or last_root or vim.fn.getcwd()
      return vim.lsp.rpc.start(M.server_cmd(root), dispatchers, { cwd = root })
    end,
    filetypes = M.filetypes,
    root_dir = function(bufnr, on_dir)
      local path = vim.api.nvim_buf_get_name(bufnr)
      if path == "" then
        return
      end
      local root = M.find_root(path)
      if M.check_python(root) then
        last_root = root
        on_dir(root)
      end
    end,
    init_options = settings_section(),
    settings = settings_section(),
    capabilities = M.options.capabilities,
    on_attach = M.options.on_attach,
    commands = M.lens_commands,
  })
  vim.lsp.enable(M.name)
end

--- Replace the `sdf` settings and send them to the running servers.
function M.set_settings(settings)
  M.options.settings = settings or {}
  for _, client in ipairs(all_clients()) do
    client.config.settings = settings_section()
    client_notify(client, "workspace/didChangeConfiguration", { settings = settings_section() })
  end
end

-- -- commands -------------------------------------------------------------------------------
local function current_client(bufnr)
  local client = clients_for(bufnr)[1]
  if not client then
    notify("no sdf_lsp server is attached to this buffer (is it a .system file?)", vim.log.levels.WARN)
  end
  return client
end

--- Run a server command (workspace/executeCommand) for a buffer; `callback(err, result)`.
function M.execute(bufnr, command, args, callback)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = current_client(bufnr)
  if not client then
    return false
  end
  client_request(client, "workspace/executeCommand", { command = command, arguments = { args } }, function(err, result)
    callback(err, result, client)
  end, bufnr)
  return true
end

local function fire(pattern, data)
  M.last_event = { pattern = pattern, data = data }
  if has("nvim-0.8") then
    vim.api.nvim_exec_autocmds("User", { pattern = pattern, modeline = false, data = data })
  else
    vim.api.nvim_exec_autocmds("User", { pattern = pattern, modeline = false })
  end
end

local function errmsg(err)
  return type(err) == "table" and (err.message or vim.inspect(err)) or tostring(err)
end

--- :SdfCSpace [pd] -- the CSpace of a PD (default: the one at the cursor) as Markdown in a split.
function M.cspace(pd)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = current_client(bufnr)
  if not client then
    return
  end
  local args = { uri = vim.uri_from_bufnr(bufnr) }
  if pd and pd ~= "" then
    args.pd = pd
  else
    args.position = vim.lsp.util.make_position_params(0, client.offset_encoding).position
  end
  M.execute(bufnr, "sdf.showCSpace", args, function(err, markdown)
    if err then
      notify(errmsg(err), vim.log.levels.ERROR)
      return
    end
    local name = markdown:match("CSpace of `([^`]+)`") or pd or "pd"
    local bufname = "sdf://cspace/" .. name
    local existing = vim.fn.bufnr(bufname)
    local split = (M.options.cspace or {}).split or "vertical"
    local win
    if existing ~= -1 and vim.fn.bufwinid(existing) ~= -1 then
      win = vim.fn.bufwinid(existing)
      vim.api.nvim_set_current_win(win)
    else
      vim.cmd(split == "tab" and "tabnew" or (split == "horizontal" and "botright new" or "vertical botright new"))
      if existing ~= -1 then
        vim.api.nvim_win_set_buf(0, existing)
      end
    end
    local buf = vim.api.nvim_get_current_buf()
    if existing == -1 then
      vim.api.nvim_buf_set_name(buf, bufname)
    end
    vim.bo[buf].buftype = "nofile"
    vim.bo[buf].bufhidden = "hide"
    vim.bo[buf].swapfile = false
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, vim.split(markdown, "\n", { plain = true }))
    vim.bo[buf].modifiable = false
    vim.bo[buf].filetype = "markdown"
    vim.api.nvim_buf_set_keymap(buf, "n", "q", "<cmd>close<cr>", { noremap = true, silent = true })
    fire("SdfCSpaceDone", { buf = buf, pd = name })
  end)
end

--- The commands of the server's code lenses, run here (vim.lsp.codelens.run): a PD's references
--- or a region's mappings into the quickfix list, a PD's CSpace in a split.
M.lens_commands = {
  ["editor.action.showReferences"] = function(command, ctx)
    local locations = (command.arguments or {})[3] or {}
    local client = vim.lsp.get_client_by_id(ctx.client_id)
    local items = vim.lsp.util.locations_to_items(locations, client and client.offset_encoding or "utf-16")
    vim.fn.setqflist({}, " ", { title = command.title, items = items })
    if #items > 0 then
      vim.cmd("botright copen")
    end
    fire("SdfReferencesDone", { count = #items })
  end,
  ["sdf.showCSpace"] = function(command)
    M.cspace(((command.arguments or {})[1] or {}).pd)
  end,
}

--- :SdfBuild [outDir] -- build the system image of the current buffer.
function M.build(out_dir)
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].modified then
    vim.cmd("silent write")
  end
  local args = { uri = vim.uri_from_bufnr(bufnr) }
  if out_dir and out_dir ~= "" then
    args.outDir = vim.fn.fnamemodify(vim.fn.expand(out_dir), ":p")
  end
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":t")
  local sent = M.execute(bufnr, "sdf.build", args, function(err, result)
    if err then
      M.last_build = { ok = false, message = errmsg(err) }
      notify("build of " .. name .. " failed: " .. errmsg(err), vim.log.levels.ERROR)
    else
      M.last_build = result
      local files = result.files or {}
      if result.ok then
        notify(("built %s: %d files in %s (report: %s)"):format(name, #files, tostring(result.outDir), tostring(result.report)))
      else
        local errors = type(result.errors) == "table" and result.errors or {}
        local why = #errors > 0 and table.concat(vim.list_slice(errors, 1, 5), "\n  ")
          or (type(result.message) == "string" and result.message or "see the diagnostics")
        if #errors > 5 then
          why = why .. ("\n  ... and %d more"):format(#errors - 5)
        end
        notify(("build of %s failed:\n  %s"):format(name, why), vim.log.levels.ERROR)
      end
    end
    fire("SdfBuildDone", M.last_build)
  end)
  if sent then
    notify("building " .. name .. " ...")
  end
end

local function open_file(path)
  local open = (M.options.graph or {}).open
  if open == false then
    return
  end
  if type(open) == "function" then
    return open(path)
  end
  local argv
  if type(open) == "table" then
    argv = vim.list_extend(vim.deepcopy(open), { path })
  elseif type(open) == "string" and open ~= "" then
    argv = { open, path }
  elseif vim.ui and vim.ui.open then
    local _, err = vim.ui.open(path)
    if err then
      notify("could not open " .. path .. ": " .. err, vim.log.levels.WARN)
    end
    return
  else
    argv = { "xdg-open", path }
  end
  local job = vim.fn.jobstart(argv, { detach = true })
  if job <= 0 then
    notify("could not run " .. table.concat(argv, " "), vim.log.levels.WARN)
  end
end

--- :SdfGraph [authority|memory] -- write the system graph as SVG and open it with the viewer.
function M.graph(view)
  view = (view and view ~= "") and view or (M.options.graph or {}).view or "authority"
  local bufnr = vim.api.nvim_get_current_buf()
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":t:r")
  M.execute(bufnr, "sdf.showGraph", { uri = vim.uri_from_bufnr(bufnr), view = view }, function(err, svg)
    if err then
      notify("graph: " .. errmsg(err), vim.log.levels.ERROR)
      return
    end
    local dir = (M.options.graph or {}).dir or (vim.fn.stdpath("cache") .. "/sdf_lsp")
    vim.fn.mkdir(dir, "p")
    local path = ("%s/%s-%s.svg"):format(dir, name ~= "" and name or "system", view)
    local f = assert(io.open(path, "w"))
    f:write(svg)
    f:close()
    M.last_graph = path
    open_file(path)
    fire("SdfGraphDone", { path = path, view = view })
  end)
end

local function create_commands()
  local cmd = vim.api.nvim_create_user_command
  cmd("SdfBuild", function(o)
    M.build(o.args)
  end, { nargs = "?", complete = "dir", desc = "sdf-lsp: build the system image" })
  cmd("SdfCSpace", function(o)
    M.cspace(o.args)
  end, { nargs = "?", desc = "sdf-lsp: show the CSpace of the protection domain at the cursor" })
  cmd("SdfGraph", function(o)
    M.graph(o.args)
  end, {
    nargs = "?",
    complete = function()
      return { "authority", "memory" }
    end,
    desc = "sdf-lsp: draw the system graph (SVG) and open it",
  })
end

function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  checked = {}
  if vim.filetype and vim.filetype.add then
    vim.filetype.add({ extension = { system = "sdf" } })
  end
  create_commands()
  local group = vim.api.nvim_create_augroup("sdf_lsp", { clear = true })
  if vim.lsp.config and vim.lsp.enable then
    setup_011()
  else
    local attach = vim.lsp.start and attach_08 or attach_07
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      pattern = M.filetypes,
      callback = function(args)
        attach(args.buf)
      end,
    })
    -- buffers that were already open
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].filetype == "sdf" then
        attach(buf)
      end
    end
  end
end

return M
