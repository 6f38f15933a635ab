-- Numeric loops: arithmetic in nested for/while loops.
local acc = 0
for i = 1, 5000 do
	local x = i
	for j = 1, 300 do
		x = (x * 31 + j) % 1000003
	end
	acc = (acc + x) % 2147483647
end
local k, s = 0, 0
while k < 500000 do
	k = k + 1
	if k % 3 == 0 then
		s = s + k
	elseif k % 5 == 0 then
		s = s - k / 5
	end
end
print("loops", acc, s)
