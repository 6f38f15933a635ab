-- Closures: creation, upvalue reads and writes, higher-order calls.
local function counter()
	local c = 0
	return function(d)
		c = c + d
		return c
	end
end
local function map(t, f)
	local r = {}
	for i = 1, #t do
		r[i] = f(t[i])
	end
	return r
end
local total = 0
for i = 1, 100000 do
	local f = counter()
	f(i)
	total = total + f(1)
end
local t = {}
for i = 1, 1000 do
	t[i] = i
end
for round = 1, 400 do
	local k = round
	t = map(t, function(x)
		return (x + k) % 1009
	end)
end
local s = 0
for i = 1, #t do
	s = s + t[i]
end
print("closures", total, s)
