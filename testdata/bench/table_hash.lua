-- Hash tables: string and number keys, counting, deletion, pairs.
local counts = {}
local words = {}
for i = 1, 500 do
	words[i] = "w" .. (i * 37 % 211)
end
for round = 1, 300 do
	for i = 1, #words do
		local w = words[i]
		counts[w] = (counts[w] or 0) + 1
	end
end
local distinct, total = 0, 0
for k, v in pairs(counts) do
	distinct = distinct + 1
	total = total + v
end
local h = {}
for i = 1, 50000 do
	h[i * 3 + 0.5] = i
end
local hs = 0
for i = 1, 50000, 2 do
	hs = hs + h[i * 3 + 0.5]
	h[i * 3 + 0.5] = nil
end
local left = 0
for k, v in pairs(h) do
	left = left + 1
end
print("table_hash", distinct, total, hs, left)
