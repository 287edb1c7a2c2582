-- One wrk script for every scenario; pick it after `--`:
--   wrk ... -s benches/wrk.lua URL -- counts   OUT   GET /sessions/{random}/counts
--   wrk ... -s benches/wrk.lua URL -- comments OUT   GET /threads/{random}/comments (first page)
--   counts_member, comments_member: the same as a random signed-in member
--   wrk ... -s benches/wrk.lua URL -- post     OUT   POST /threads/{random}/comments
--   wrk ... -s benches/wrk.lua URL -- hot      OUT   POST to threads on one paragraph
--   wrk ... -s benches/wrk.lua URL -- counts_me OUT  GET /sessions/{random}/counts as the first
--                                                    token's user (with unread_count)
--   report, report_csv: GET /sessions/{random}/report (JSON, or Accept: text/csv)
--                       as the first token's user (the group's owner)
--   wrk ... -s benches/wrk.lua URL -- search OUT [WORD]   GET /groups/{id}/search?q=WORD
--                       anonymously (the group ids in OUT/groups.txt; WORD: "bench",
--                       which every seeded comment holds)
--   search_rare: the same for the word in OUT/rare_word.txt (three comments hold it)
-- OUT is the directory the seeder wrote its id lists and tokens to.
-- Every request draws a fresh random id (and, for posts, a random member's token).

local mode, ids, tokens, word = "counts", {}, {}, "bench"

local function lines(path)
  local list = {}
  local f = assert(io.open(path, "r"), "cannot read " .. path)
  for line in f:lines() do
    if line ~= "" then list[#list + 1] = line end
  end
  f:close()
  assert(#list > 0, path .. " is empty")
  return list
end

local seed = 0
function setup(thread)
  seed = seed + 1
  thread:set("thread_seed", seed)
end

function init(args)
  mode = args[1] or "counts"
  local out = args[2] or "benches/out"
  local list = ({
    counts = "sessions.txt", counts_member = "sessions.txt", counts_me = "sessions.txt",
    comments = "threads.txt", comments_member = "threads.txt",
    post = "threads.txt", hot = "hot_threads.txt",
    report = "sessions.txt", report_csv = "sessions.txt", search = "groups.txt",
    search_rare = "groups.txt",
  })[mode]
  word = args[3] or (mode == "search_rare" and lines(out .. "/rare_word.txt")[1]) or word
  assert(list, "unknown mode " .. mode)
  ids = lines(out .. "/" .. list)
  if not ({ counts = 1, comments = 1, search = 1, search_rare = 1 })[mode] then tokens = lines(out .. "/tokens.txt") end
  math.randomseed(os.time() * 1000 + (thread_seed or 0))
end

local n = 0
function request()
  local id = ids[math.random(#ids)]
  if mode == "counts" then
    return wrk.format("GET", "/api/v1/sessions/" .. id .. "/counts")
  elseif mode == "counts_me" then
    return wrk.format("GET", "/api/v1/sessions/" .. id .. "/counts", { ["Authorization"] = "Bearer " .. tokens[1] })
  elseif mode == "comments" then
    return wrk.format("GET", "/api/v1/threads/" .. id .. "/comments")
  elseif mode == "search" or mode == "search_rare" then
    return wrk.format("GET", "/api/v1/groups/" .. id .. "/search?q=" .. word)
  elseif mode == "report" then
    return wrk.format("GET", "/api/v1/sessions/" .. id .. "/report", { ["Authorization"] = "Bearer " .. tokens[1] })
  elseif mode == "report_csv" then
    return wrk.format("GET", "/api/v1/sessions/" .. id .. "/report",
      { ["Authorization"] = "Bearer " .. tokens[1], ["Accept"] = "text/csv" })
  end
  local auth = { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] }
  if mode == "counts_member" then
    return wrk.format("GET", "/api/v1/sessions/" .. id .. "/counts", auth)
  elseif mode == "comments_member" then
    return wrk.format("GET", "/api/v1/threads/" .. id .. "/comments", auth)
  end
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)],
  }
  local body = '{"body":"A benchmark comment, number ' .. n .. ', on why revolutions end as they do."}'
  return wrk.format("POST", "/api/v1/threads/" .. id .. "/comments", headers, body)
end
