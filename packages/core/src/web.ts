export const web: number = 1
