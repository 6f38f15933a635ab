-- String building: repeated .. in a loop, table.concat, string.rep.
local total = 0
for round = 1, 20 do
  local parts = {}
  for i = 1, 5000 do parts[#parts + 1] = "item" .. i end
  local joined = table.concat(parts, ",")
  total = total + #joined
  local s = ""
  for i = 1, 300 do s = s .. "x" .. (i % 10) end
  total = total + #s + #string.rep("ab", 1000)
end
print(total)
