-- Binary trees: allocation-heavy, exercises the garbage collector.
local function make(depth)
	if depth == 0 then
		return {}
	end
	depth = depth - 1
	return { make(depth), make(depth) }
end
local function check(tree)
	if tree[1] then
		return 1 + check(tree[1]) + check(tree[2])
	end
	return 1
end
local maxdepth = 12
local out = {}
out[#out + 1] = "stretch " .. check(make(maxdepth + 1))
local long = make(maxdepth)
for depth = 4, maxdepth, 2 do
	local iters = 2 ^ (maxdepth - depth + 4)
	local c = 0
	for i = 1, iters do
		c = c + check(make(depth))
	end
	out[#out + 1] = iters .. " trees of depth " .. depth .. " check " .. c
end
out[#out + 1] = "long lived " .. check(long)
print("binary_trees", table.concat(out, "; "))
