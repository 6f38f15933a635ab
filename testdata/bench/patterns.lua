-- Pattern matching: find, match, gmatch and gsub over generated log lines.
local lines = {}
for i = 1, 2000 do
  lines[i] = "2026-11-" .. (i % 28 + 1) .. " user" .. (i * 7 % 1000) .. "@guild" .. (i % 13) ..
    " said: hello world number " .. i .. " [tag" .. (i % 5) .. "]"
end
local total = 0
for round = 1, 10 do
  for i = 1, #lines do
    local s = lines[i]
    local y, m, d = string.match(s, "^(%d+)%-(%d+)%-(%d+)")
    total = total + tonumber(y) + tonumber(m) + tonumber(d)
    local user = string.match(s, "user(%d+)@")
    total = total + tonumber(user)
    if string.find(s, "hello", 1, true) then total = total + 1 end
    local a, b = string.find(s, "%[tag(%d)%]")
    total = total + (a or 0)
    for w in string.gmatch(s, "%a+") do total = total + #w end
    local r, n = string.gsub(s, "%d", "#")
    total = total + n + #r
  end
end
print(total)
