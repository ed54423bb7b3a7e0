-- The soak's mixed workload (bench/run.sh --soak): one wrk script cycling through a
-- password pull+push on one of 200 repositories (each a push grant, written again every
-- 30 s), an access-token pull and a refresh-token POST each on one of 20,000 repositories
-- (each a directory cache entry: the caches fill to their bounds), and two anonymous pulls
-- of the public repository. Settings come from the environment run.sh exports.
local project = os.getenv("SOAK_PROJECT")
local password = "Basic " .. os.getenv("SOAK_PASSWORD_B64")
local token = "Basic " .. os.getenv("SOAK_TOKEN_B64")
local refresh = os.getenv("SOAK_REFRESH")
local n = 0
local post = {["Content-Type"] = "application/x-www-form-urlencoded"}

request = function()
  n = n + 1
  local k = n % 5
  local repo = project .. "/soak" .. (n % 20000)
  if k == 0 then
    local pushed = project .. "/push" .. (n % 200)
    return wrk.format("GET", "/token?service=registry&scope=repository:" .. pushed .. ":pull,push",
      {["Authorization"] = password})
  elseif k == 1 then
    return wrk.format("GET", "/token?service=registry&scope=repository:" .. repo .. ":pull",
      {["Authorization"] = token})
  elseif k == 2 then
    return wrk.format("POST", "/token", post,
      "grant_type=refresh_token&service=registry&client_id=docker&refresh_token=" .. refresh ..
      "&scope=repository:" .. repo .. ":pull")
  else
    return wrk.format("GET", "/token?service=registry&scope=repository:" .. project .. "/public:pull")
  end
end
