-- Array tables: fill, read, insert, sort, and sum.
local n = 100000
local a = {}
for i = 1, n do
	a[i] = (i * 7919) % 100003
end
local sum = 0
for round = 1, 10 do
	for i = 1, n do
		sum = (sum + a[i] * round) % 1000000007
	end
end
local b = {}
for i = 1, 20000 do
	table.insert(b, a[i])
end
table.sort(b)
local ok = 1
for i = 2, #b do
	if b[i - 1] > b[i] then
		ok = 0
	end
end
print("table_array", sum, #b, b[1], b[#b], ok)
