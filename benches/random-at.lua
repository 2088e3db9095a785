-- wrk: each request asks the current-state matrix at a new random instant of the last two years
-- (scripts/bench.sh and scripts/bench-ab.sh; a fixed seed, so runs ask the same instants).
math.randomseed(42)
request = function()
  local t = os.time() - math.random(1, 2 * 365 * 86400)
  return wrk.format("GET", "/api/deployments/current?at=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t))
end
