-- String building: concatenation, table.concat, format, sub, byte, find, gsub.
local parts = {}
for i = 1, 20000 do
	parts[#parts + 1] = string.format("%d:%s", i, string.rep("ab", i % 5))
end
local s = table.concat(parts, ",")
local bytes = 0
for i = 1, #s, 7 do
	bytes = bytes + string.byte(s, i)
end
local count = 0
for w in string.gmatch(s, "%d+:") do
	count = count + 1
end
local n, replaced = 0, 0
for i = 1, #parts do
	local r, k = string.gsub(parts[i], "ab", "x")
	n = n + k
	replaced = replaced + #r
end
local acc = ""
for i = 1, 2000 do
	acc = acc .. string.sub(s, i, i)
end
print("strings", #s, bytes, count, n, replaced, #acc, string.find(s, "19999:"))
