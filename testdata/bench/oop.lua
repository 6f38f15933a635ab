-- Object-oriented code: metatables with __index, method calls, inheritance.
local Point = {}
Point.__index = Point
function Point.new(x, y)
	return setmetatable({ x = x, y = y }, Point)
end
function Point:add(o)
	return Point.new(self.x + o.x, self.y + o.y)
end
function Point:norm1()
	return math.abs(self.x) + math.abs(self.y)
end
local Point3 = setmetatable({}, { __index = Point })
Point3.__index = Point3
function Point3.new(x, y, z)
	local p = Point.new(x, y)
	p.z = z
	return setmetatable(p, Point3)
end
function Point3:norm1()
	return Point.norm1(self) + math.abs(self.z)
end
local acc = Point.new(0, 0)
local s = 0
for i = 1, 200000 do
	local p = Point3.new(i % 7 - 3, i % 11 - 5, i % 13 - 6)
	acc = acc:add(p)
	s = s + p:norm1()
end
print("oop", acc.x, acc.y, s)
