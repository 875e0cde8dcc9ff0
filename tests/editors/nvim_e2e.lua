-- Headless Neovim end to end for editors/nvim (run by test_nvim.py with Neovim 0.7 and a current one):
--   nvim --headless --clean --cmd "set rtp^=editors/nvim" -c "luafile tests/editors/nvim_e2e.lua"
-- Env: SDF_WS (workspace: echo/, hello/, elf/, .venv), SDF_SDK, SDF_RECORD (file the stand-in
-- viewer writes), SDF_VIEWER_PY, SDF_CHECKS (comma list of: lsp, cspace, lens, graph, build, missing,
-- plain, enable, buildfail, absent), SDF_FAKE_PY (an interpreter without sdf_lsp, for "missing").
-- "plain", "enable", "buildfail" and "absent" run in a workspace without .venv, as a user has it:
-- `sdf-lsp` on PATH (plain setup{}, vim.lsp.enable without setup, a failed :SdfBuild) or nothing.
-- Prints one line per check ("ok   ..." / "FAIL ...") and exits 0 only when all passed.
local ws = assert(os.getenv("SDF_WS"), "SDF_WS")
local sdk = assert(os.getenv("SDF_SDK"), "SDF_SDK")
local record = os.getenv("SDF_RECORD") or (ws .. "/viewer.txt")
local viewer_py = os.getenv("SDF_VIEWER_PY") or "python3"
local want = {}
for c in (os.getenv("SDF_CHECKS") or "lsp,cspace"):gmatch("[^,]+") do
  want[c] = true
end

local failures, checks = 0, 0
local function out(...)
  io.stdout:write(table.concat({ ... }, " ") .. "\n")
end
local function check(cond, what, detail)
  checks = checks + 1
  if cond then
    out("ok  ", what)
  else
    failures = failures + 1
    out("FAIL", what, detail and ("\n     " .. tostring(detail)) or "")
  end
  return cond
end
local function wait(ms, fn)
  return vim.wait(ms, fn, 50)
end
local function inspect(v)
  return vim.inspect(v, { newline = " ", indent = "" })
end

local sdf = require("sdf_lsp")

local function client_of(buf)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = buf, name = "sdf_lsp" })[1]
  end
  for _, c in pairs(vim.lsp.buf_get_clients(buf)) do
    if c.name == "sdf_lsp" then
      return c
    end
  end
end

local function open(rel)
  vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/" .. rel))
  local buf = vim.api.nvim_get_current_buf()
  local attached = wait(20000, function()
    local c = client_of(buf)
    return c ~= nil and c.initialized ~= false and c.server_capabilities ~= nil and next(c.server_capabilities) ~= nil
  end)
  return buf, attached
end

-- cursor on the nth occurrence of `needle`, `delta` bytes in; returns the 0-based line
-- reload from disk (drops the edits); the server detaches and attaches again
local function reload()
  local buf = vim.api.nvim_get_current_buf()
  vim.cmd("edit!")
  wait(10000, function()
    return client_of(buf) ~= nil
  end)
  vim.wait(200)
end

local function cursor_at(needle, delta, nth)
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  local seen = 0
  for i, line in ipairs(lines) do
    local from = 1
    while true do
      local s = line:find(needle, from, true)
      if not s then
        break
      end
      seen = seen + 1
      if seen == (nth or 1) then
        vim.api.nvim_win_set_cursor(0, { i, s - 1 + (delta or 0) })
        return i - 1
      end
      from = s + 1
    end
  end
  error("not found: " .. needle)
end

local function line_of(needle)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, false)) do
    if line:find(needle, 1, true) then
      return i - 1
    end
  end
end

local function request(method, params)
  local res, err = vim.lsp.buf_request_sync(0, method, params, 10000)
  if not res then
    return nil, err
  end
  for _, r in pairs(res) do
    return r.result, r.error
  end
end

local function position_params(buf)
  local c = client_of(buf)
  return vim.lsp.util.make_position_params(0, c and c.offset_encoding or "utf-16")
end

local function text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\n")
end

local function count(s, needle)
  local n, from = 0, 1
  while true do
    local at = s:find(needle, from, true)
    if not at then
      return n
    end
    n, from = n + 1, at + 1
  end
end

local function diagnostics_arrive(buf)
  return wait(20000, function()
    return #vim.diagnostic.get(buf) > 0
  end)
end

local function messages()
  return vim.fn.execute("messages")
end

local function user_checks()
  if want.plain or want.buildfail then
    sdf.setup({})
    local buf, attached = open("echo/echo_broken.system")
    local cmd = sdf.server_cmd(ws)
    check(attached and cmd[1] == "sdf-lsp", "plain setup{}: sdf-lsp from PATH", inspect(cmd))
    check(diagnostics_arrive(buf), "plain setup{}: diagnostics")
    if want.buildfail then
      local seen = {}
      local notify = vim.notify
      vim.notify = function(msg, level)
        table.insert(seen, msg)
        return notify(msg, level)
      end
      sdf.last_build = nil
      open("echo/echo.system")
      vim.cmd("SdfBuild")
      wait(30000, function()
        return sdf.last_build ~= nil and table.concat(seen, "\n"):find("failed", 1, true) ~= nil
      end)
      vim.notify = notify
      local msg = table.concat(seen, "\n")
      check(msg:find("build of echo.system failed:", 1, true) and msg:find("needs a Microkit SDK", 1, true)
        and msg:find("sdf.target.sdk", 1, true) and not msg:find("nil", 1, true), ":SdfBuild says why it failed", msg)
    end
  end
  if want.enable then
    -- no setup(): lsp/sdf_lsp.lua on 'runtimepath' is the whole configuration
    vim.lsp.enable("sdf_lsp")
    local buf, attached = open("echo/echo_broken.system")
    check(attached, "vim.lsp.enable('sdf_lsp'): server attached")
    check(diagnostics_arrive(buf), "vim.lsp.enable('sdf_lsp'): diagnostics")
  end
  if want.absent then
    -- neither sdf-lsp nor a Python with sdf_lsp: one clear message, no error from filetype detection
    sdf.setup({})
    vim.v.errmsg = ""
    vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/echo/echo.system"))
    wait(3000, function()
      return messages():find("is not installed", 1, true) ~= nil
    end)
    local msgs = messages()
    check(msgs:find("Python package 'sdf_lsp' is not installed", 1, true) and msgs:find("pip install sdf-lsp", 1, true),
      "no server installed: says what to install", msgs)
    -- (the message itself is an error message: Neovim 0.7 heads it "Error detected while processing")
    check(not msgs:find("stack traceback", 1, true) and not msgs:find("filetype.lua", 1, true)
      and not msgs:find("E5108", 1, true) and not vim.v.errmsg:find("filetype", 1, true),
      "no server installed: no error from filetype detection",
      msgs .. "\n" .. vim.v.errmsg)
    check(vim.bo.filetype == "sdf" and client_of(0) == nil, "no server installed: the file opens, no client")
  end
end

local function main()
  out("nvim", tostring(vim.version().major) .. "." .. vim.version().minor .. "." .. vim.version().patch)
  if want.plain or want.enable or want.buildfail or want.absent then
    return user_checks()
  end
  if want.missing then
    -- an interpreter without sdf_lsp: a clear message, and no server
    local messages = {}
    vim.notify = function(msg)
      table.insert(messages, msg)
    end
    sdf.setup({ python = assert(os.getenv("SDF_FAKE_PY"), "SDF_FAKE_PY") })
    vim.cmd("edit " .. vim.fn.fnameescape(ws .. "/echo/echo.system"))
    vim.wait(500)
    local msg = table.concat(messages, "\n")
    check(msg:find("Python package 'sdf_lsp' is not installed", 1, true) and msg:find(os.getenv("SDF_FAKE_PY"), 1, true)
      and client_of(0) == nil, "missing package: explained, no server started", msg)
    return
  end
  sdf.setup({
    settings = {
      searchPaths = { "elf" },
      target = { sdk = sdk, board = "qemu_virt_aarch64", config = "release" },
    },
    graph = {
      dir = ws .. "/graphs",
      open = { viewer_py, "-c", "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])", record },
    },
  })

  -- diagnostics, code action (quick fix) and an incremental edit -----------------------------
  local buf, attached = open("echo/echo_broken.system")
  check(vim.bo[buf].filetype == "sdf", "ftdetect: *.system has filetype sdf", vim.bo[buf].filetype)
  if not check(attached, "server attached to the buffer") then
    return
  end
  local c = client_of(buf)
  local cmd = type(c.config.cmd) == "table" and c.config.cmd or sdf.server_cmd(c.config.root_dir)
  check(c.config.root_dir == ws and cmd[1] == ws .. "/.venv/bin/python" and cmd[3] == "sdf_lsp",
    "root is the workspace, default interpreter its .venv", inspect({ c.config.root_dir, cmd }))

  if want.lsp then
    local function bufer_diag()
      for _, d in ipairs(vim.diagnostic.get(buf)) do
        if d.message:find("invalid memory region name 'echo_bufer'", 1, true) then
          return d
        end
      end
    end
    wait(15000, function()
      return bufer_diag() ~= nil
    end)
    local d = bufer_diag()
    local errors = vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR })
    check(d ~= nil and d.code == "MK-MAP1" and #errors == 4, "diagnostics: MK-MAP1 'echo_bufer' among 4 errors",
      inspect(vim.tbl_map(function(x)
        return { x.lnum, x.code, x.message }
      end, vim.diagnostic.get(buf))))
    if d then
      local range = {
        start = { line = d.lnum, character = d.col },
        ["end"] = { line = d.end_lnum or d.lnum, character = d.end_col or d.col },
      }
      local lsp_diags = vim.tbl_map(function(x)
        local lsp = x.user_data and x.user_data.lsp
        if lsp and lsp.range then -- 0.8+: the whole LSP diagnostic
          return lsp
        end
        return { range = range, message = x.message, code = x.code, severity = x.severity, source = x.source }
      end, { d })
      local actions = request("textDocument/codeAction", {
        textDocument = { uri = vim.uri_from_bufnr(buf) },
        range = range,
        context = { diagnostics = lsp_diags },
      }) or {}
      local fix
      for _, a in ipairs(actions) do
        if a.title == "Change to 'echo_buffer'" then
          fix = a
        end
      end
      check(fix ~= nil and fix.edit ~= nil, "code action \"Change to 'echo_buffer'\"", inspect(vim.tbl_map(function(a)
        return a.title
      end, actions)))
      if fix then
        vim.lsp.util.apply_workspace_edit(fix.edit, c.offset_encoding)
        local gone = wait(10000, function()
          return bufer_diag() == nil and #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }) == 3
        end)
        check(gone and text():find('mr="echo_buffer" vaddr="0x4000000" perms="rw" setvar_vaddr="buffer" />', 1, true),
          "quick fix applied (incremental didChange): that error is gone, three remain")
      end
    end
    reload()
  end

  -- navigation on the clean example ------------------------------------------------------------
  buf = open("echo/echo.system")
  if want.lsp then
    cursor_at('protection_domain name="client"', #'protection_domain name="' + 2)
    local hover = request("textDocument/hover", position_params(buf))
    local value = hover and hover.contents and (hover.contents.value or hover.contents) or ""
    check(type(value) == "string" and value:find("protection domain `client`", 1, true) and value:find("priority **100**", 1, true),
      "hover on a PD shows its summary", inspect(value))

    local pd_line = line_of('protection_domain name="echo_server"')
    cursor_at('<end pd="echo_server"', #'<end pd="' + 3)
    local def = request("textDocument/definition", position_params(buf))
    local loc = def and (def[1] or def)
    local range = loc and (loc.range or loc.targetSelectionRange)
    check(range and range.start.line == pd_line, "definition: end pd -> its protection_domain (line " .. pd_line .. ")", inspect(def))

    cursor_at('<end pd="client" id="1"', #'<end pd="')
    local comp = request("textDocument/completion", position_params(buf))
    local items = comp and (comp.items or comp) or {}
    local labels = {}
    for _, it in ipairs(items) do
      labels[it.label] = true
    end
    check(labels.uart_driver and labels.echo_server and labels.client, "completion in <end pd=\"\" offers the PD names",
      inspect(vim.tbl_keys(labels)))

    cursor_at('protection_domain name="client"', #'protection_domain name="' + 1)
    local before = count(text(), '"client"')
    vim.lsp.buf.rename("customer")
    local renamed = wait(10000, function()
      return count(text(), '"client"') == 0
    end)
    check(renamed and before == 3 and count(text(), '"customer"') == 3, "rename a PD updates its 3 occurrences",
      ("before %d, after %d"):format(before, count(text(), '"customer"')))
    reload()
  end

  if want.lens then
    -- code lenses: resolved, then run by the plugin's client commands
    local ebuf = open("echo/echo.system")
    local lenses = request("textDocument/codeLens", { textDocument = { uri = vim.uri_from_bufnr(ebuf) } }) or {}
    check(#lenses == 13, "code lenses: 3 per PD, 1 per region", inspect(#lenses))
    local refs
    for _, l in ipairs(lenses) do
      if l.data and l.data.name == "client" and l.data.lens == 0 then
        refs = request("codeLens/resolve", l)
      end
    end
    check(refs and refs.command and refs.command.title == "2 references", "code lens: 2 references of client",
      inspect(refs))
    local c = client_of(ebuf)
    local run = c and c.commands and refs and refs.command and c.commands[refs.command.command]
    if check(run ~= nil, "code lens: the plugin runs " .. tostring(refs and refs.command and refs.command.command)) then
      run(refs.command, { bufnr = ebuf, client_id = c.id })
      local qf = vim.fn.getqflist()
      check(#qf == 2 and qf[1].lnum > 0, "code lens: the references in the quickfix list", inspect(qf))
      vim.cmd("cclose")
    end
    -- formatting: a line laid out again, with the buffer's indentation
    local before = text()
    local lnum = line_of('<memory_region name="uart_regs"')
    vim.api.nvim_buf_set_lines(ebuf, lnum, lnum + 1, false,
      { '<memory_region   name="uart_regs" size="0x1000" phys_addr="0x9000000"/>' })
    vim.bo[ebuf].shiftwidth, vim.bo[ebuf].tabstop, vim.bo[ebuf].expandtab = 4, 4, true
    if vim.lsp.buf.format then
      vim.lsp.buf.format({ bufnr = ebuf, timeout_ms = 10000 })
    else
      vim.lsp.buf.formatting_sync(nil, 10000)
    end
    check(text() == before, "formatting: the line laid out as it was", text())
    reload()
  end
  if want.cspace then
    cursor_at('<map mr="echo_buffer"', 3, 2) -- inside the client PD
    vim.cmd("SdfCSpace")
    local shown = wait(10000, function()
      return vim.fn.bufnr("sdf://cspace/client") ~= -1
    end)
    local cbuf = vim.fn.bufnr("sdf://cspace/client")
    local lines = shown and table.concat(vim.api.nvim_buf_get_lines(cbuf, 0, -1, false), "\n") or ""
    check(shown and lines:find("CSpace of `client`", 1, true) and lines:find("| slot |", 1, true) and vim.bo[cbuf].filetype == "markdown"
      and vim.fn.bufwinid(cbuf) ~= -1 and #vim.api.nvim_list_wins() == 2,
      ":SdfCSpace shows the CSpace table of the PD at the cursor in a split", lines)
    if vim.fn.bufwinid(cbuf) ~= -1 then
      vim.api.nvim_win_close(vim.fn.bufwinid(cbuf), true)
    end
    vim.cmd("SdfCSpace uart_driver")
    shown = wait(10000, function()
      return vim.fn.bufnr("sdf://cspace/uart_driver") ~= -1
    end)
    check(shown, ":SdfCSpace uart_driver (by name)")
    vim.cmd("only")
  end

  if want.graph then
    sdf.last_graph = nil
    vim.cmd("buffer " .. vim.fn.bufnr(ws .. "/echo/echo.system"))
    vim.cmd("SdfGraph")
    local recorded = wait(20000, function()
      local f = io.open(record)
      if not f then
        return false
      end
      local s = f:read("*a")
      f:close()
      return s ~= ""
    end)
    local f = io.open(record)
    local path = f and f:read("*a") or ""
    if f then
      f:close()
    end
    local svg = ""
    local g = path ~= "" and io.open(path)
    if g then
      svg = g:read("*a")
      g:close()
    end
    check(recorded and path:find("echo%-authority%.svg$") and svg:find("<svg", 1, true) and svg:find("uart_driver", 1, true),
      ":SdfGraph writes the SVG and hands it to the viewer", path)
  end

  if want.build then
    sdf.last_build = nil
    open("hello/hello.system")
    vim.cmd("SdfBuild")
    wait(60000, function()
      return sdf.last_build ~= nil
    end)
    local r = sdf.last_build or {}
    local has_loader = false
    for _, file in ipairs(r.files or {}) do
      if tostring(file):find("loader.img", 1, true) then
        has_loader = true
      end
    end
    check(r.ok == true and has_loader and vim.fn.isdirectory(r.outDir or "") == 1, ":SdfBuild builds hello.system", inspect(r))
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  failures = failures + 1
  out("FAIL error:", err)
end
-- stop the servers and wait for them to exit
local ids = {}
for _, c in pairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
  table.insert(ids, c.id)
end
vim.lsp.stop_client(ids)
wait(5000, function()
  for _, id in ipairs(ids) do
    if vim.lsp.get_client_by_id(id) then
      return false
    end
  end
  return true
end)
out(failures == 0 and ("ALL OK (" .. checks .. " checks)") or ("FAILURES: " .. failures))
vim.cmd(failures == 0 and "qall!" or "cquit 1")
