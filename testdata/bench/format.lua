-- string.format with mixed specifiers, and tostring of numbers (no %g: gopher-lua formats it the Go way).
local acc = 0
for i = 1, 60000 do
  local s = string.format("%d:%5.2f|%x|%s|%-8s|%e", i, i / 7, i, "name" .. (i % 10), "pad", i * 0.25)
  acc = acc + #s
  acc = acc + #tostring(i * 3)
end
print(acc)
